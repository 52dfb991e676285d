// Placeholder until the Jinja module lands; replaced by its issue's work.
