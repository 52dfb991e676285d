// Placeholder until the Tokenization module lands; replaced by its issue's work.
