// Placeholder until the SFTRunKit module lands; replaced by its issue's work.
