// Placeholder until the Recipes module lands; replaced by its issue's work.
