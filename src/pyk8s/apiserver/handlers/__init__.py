"""HTTP handlers of the resource API, one module per family of verbs."""
