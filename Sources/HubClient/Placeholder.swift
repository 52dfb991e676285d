// Placeholder until the HubClient module lands; replaced by its issue's work.
