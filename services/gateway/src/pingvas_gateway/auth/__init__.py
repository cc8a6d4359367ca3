"""Who is calling: access tokens, session cookies, API keys; the guards that use them."""
