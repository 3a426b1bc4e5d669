"""The Qt layer: windows, views, item models and background workers over the UI-free core."""
