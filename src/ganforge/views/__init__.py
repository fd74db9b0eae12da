"""Views: runs turned into pictures and pages."""
