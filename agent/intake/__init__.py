"""Free-text intake: a person's first message read into ranked readings of findings."""
