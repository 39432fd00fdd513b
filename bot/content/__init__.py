"""Brand content, campaigns, livestreams and share attribution."""
