"""Storage: the catalogue database (all SQL lives here) and where catalogues are kept."""
