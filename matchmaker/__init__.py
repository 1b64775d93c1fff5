"""The domain: rules of the catalogue, teams and permissions, and the matching engine."""
