// Placeholder until the WeightFiles module lands; replaced by its issue's work.
