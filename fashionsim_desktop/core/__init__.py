"""UI-free engine: scanning, decoding, features, ANN index, pair scoring, export. Never imports Qt."""
