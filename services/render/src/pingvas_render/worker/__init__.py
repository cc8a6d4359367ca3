"""The GPU worker: pulls jobs from the work queue, runs them on its engine, uploads the
images and reports every transition to the render service (docs/render.md)."""
