"""The render service: generation jobs, fair scheduling, GPU workers and images."""
