import StrictJSON

/// The OpenAPI 3 document served at `/documentation/json`. Every route the router
/// knows has an operation here (a unit test checks both lists agree).
public enum OpenAPIDocument {
    static func errorResponse(_ description: String) -> JSONValue {
        ["description": .string(description), "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]]
    }

    static let healthResponses: JSONValue = [
        "200": ["description": "Healthy", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Status"]]]],
        "503": ["description": "Not ready (shutting down)", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Status"]]]],
    ]

    static func platformPaths() -> [(String, JSONValue)] {
        [
            ("/-/healthz", ["get": ["summary": "Liveness", "tags": ["platform"], "responses": healthResponses]]),
            ("/-/ready", ["get": ["summary": "Readiness (503 while shutting down)", "tags": ["platform"], "responses": healthResponses]]),
            ("/-/check-up", ["get": ["summary": "Check-up (503 while shutting down)", "tags": ["platform"], "responses": healthResponses]]),
            ("/-/metrics", ["get": ["summary": "Prometheus metrics", "tags": ["platform"], "responses": [
                "200": ["description": "Prometheus text format", "content": ["text/plain": ["schema": ["type": "string"]]]],
            ]]]),
            ("/documentation/json", ["get": ["summary": "This OpenAPI document", "tags": ["platform"], "responses": [
                "200": ["description": "OpenAPI 3 document", "content": ["application/json": ["schema": ["type": "object"]]]],
            ]]]),
        ]
    }

    static let components: JSONValue = [
        "schemas": [
            "Error": [
                "type": "object",
                "required": ["statusCode", "error", "message"],
                "properties": [
                    "statusCode": ["type": "integer"],
                    "error": ["type": "string"],
                    "message": ["type": "string"],
                ],
            ],
            "Status": [
                "type": "object",
                "required": ["status", "name", "version"],
                "properties": [
                    "status": ["type": "string", "enum": ["OK", "KO"]],
                    "name": ["type": "string"],
                    "version": ["type": "string"],
                ],
            ],
        ],
    ]

    /// The document; `basePath` is the prefix the frontend uses (the server URL).
    public static func make(basePath: String, extraPaths: [(String, JSONValue)] = [], extraSchemas: [(String, JSONValue)] = []) -> JSONValue {
        var schemas = components["schemas"]!.objectValue!
        for (name, schema) in extraSchemas { schemas[name] = schema }
        return [
            "openapi": "3.0.3",
            "info": [
                "title": .string(BuildInfo.name),
                "version": .string(BuildInfo.version),
                "description": "Schedules video consultations between doctors and patients on Bandyer (Kaleyra Video).",
            ],
            "servers": [["url": .string(basePath.isEmpty ? "/" : basePath)]],
            "paths": .object(JSONObject(platformPaths() + extraPaths)),
            "components": ["schemas": .object(schemas)],
        ]
    }
}
