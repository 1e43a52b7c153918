"""Datasets: the procedural world stream, video folders; batches of equal shape (buckets)."""
