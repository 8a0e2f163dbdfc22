"""The board pack: the board's highlight report as an accessible Word document, kept as a frozen
snapshot, and downloadable through an expiring link."""

# A Word document's media type: here, so naming it does not load python-docx.
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
