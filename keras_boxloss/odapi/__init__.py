"""Bring a TF Object Detection API project over: pipeline.config parsing and mapping."""
