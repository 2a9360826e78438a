/// auth0 mode (`AUTH_SERVICE` set): groups and names come from auth0-client.
/// Standalone mode: the request carries them.
public enum OperatingMode: String, Sendable, Equatable { case auth0, standalone }
