"""A story recommender trained on who commented on what, over every hour stored."""
