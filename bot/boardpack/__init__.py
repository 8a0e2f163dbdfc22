"""The board pack: the board's highlight report as an accessible Word document, kept as a frozen
snapshot, and downloadable through an expiring link."""
