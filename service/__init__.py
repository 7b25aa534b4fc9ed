"""HTTP service, command line and web page for the stance classifier."""
