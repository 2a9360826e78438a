// The CRUD, Bandyer and auth0-client adapters live here.
