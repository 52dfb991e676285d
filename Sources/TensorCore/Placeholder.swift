// Placeholder until the TensorCore module lands; replaced by its issue's work.
