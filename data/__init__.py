"""Public datasets: where they live on disk and how to fetch the official releases."""
