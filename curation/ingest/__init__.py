"""Dataset layouts → versioned videos / frames / clips tables, with frames decoded once into a cache."""
