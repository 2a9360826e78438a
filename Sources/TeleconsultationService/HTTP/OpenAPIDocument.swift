import StrictJSON
import TeleconsultationDomain

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
            ("/-/identity", ["get": ["summary": "Who the request's cookie or bearer token belongs to (nginx's auth_request in the edge profile; not reachable from outside)",
                                     "tags": ["platform"], "responses": .object(JSONObject([
                ("200", ["description": "Logged in: the user id and groups, also as x-identity-user-id and x-identity-user-groups",
                         "headers": ["x-identity-user-id": ["schema": ["type": "string"]], "x-identity-user-groups": ["schema": ["type": "string"]]],
                         "content": ["application/json": ["schema": ["type": "object", "required": ["userId", "groups"],
                                                                     "properties": ["userId": ["type": "string"], "groups": ["type": "array", "items": ["type": "string"]]]]]]]),
            ] + errors([401, 502, 503, 504])))]]),
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

    static func errors(_ codes: [Int]) -> [(String, JSONValue)] {
        let text: [Int: String] = [
            400: "Invalid body, no allowed group, no plus user, or a duration out of bounds",
            401: "The caller is not a participant", 404: "No such teleconsultation (or trashed)",
            409: "Can no longer be changed, already complete, participant already present, or changed concurrently",
            413: "Body too large", 502: "An upstream failed", 503: "Not configured, or shutting down", 504: "An upstream did not answer in time",
        ]
        return codes.map { (String($0), errorResponse(text[$0] ?? "Error")) }
    }

    static let roomIdParameter: JSONValue = [
        "name": "roomId", "in": "path", "required": true, "description": "The teleconsultation's CRUD _id",
        "schema": ["type": "string", "pattern": "^[0-9a-f]{24}$"],
    ]

    static func body(_ schema: String) -> JSONValue {
        ["required": true, "content": ["application/json": ["schema": ["$ref": .string("#/components/schemas/\(schema)")]]]]
    }

    static func teleconsultationPaths() -> [(String, JSONValue)] {
        let writeErrors = [400, 404, 409, 413, 502, 504]
        return [
            ("/teleconsultation", ["post": [
                "operationId": "createTeleconsultation",
                "summary": "Create a teleconsultation (and its Bandyer room once every participant is known)",
                "tags": ["teleconsultation"], "requestBody": body("TeleconsultationCreate"),
                "responses": .object(JSONObject([("201", [
                    "description": "Created", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/RoomCreated"]]],
                    "links": .object(JSONObject(["getTeleconsultation", "updateTeleconsultation", "addParticipant", "deleteTeleconsultation"].map {
                        ($0, ["operationId": .string($0), "parameters": ["roomId": "$response.body#/roomId"]])
                    })),
                ])] + errors([400, 413, 502, 504]))),
            ]]),
            ("/teleconsultation/{roomId}", [
                "parameters": [roomIdParameter],
                "patch": [
                    "operationId": "updateTeleconsultation",
                    "summary": "Change dates or participants (the room is replaced when its make-up changes)",
                    "tags": ["teleconsultation"], "requestBody": body("TeleconsultationUpdate"),
                    "responses": .object(JSONObject([("204", ["description": "Updated"])] + errors(writeErrors))),
                ],
                "get": [
                    "operationId": "getTeleconsultation",
                    "summary": "The caller's Bandyer id, personal link (null until the join window opens) and the participants",
                    "tags": ["teleconsultation"],
                    "parameters": [["name": "miauserid", "in": "header", "required": false, "description": "The caller's external id (by default)",
                                    "schema": ["type": "string"]]],
                    "responses": .object(JSONObject([("200", ["description": "Join information", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/JoinInfo"]]]])]
                        + errors([401, 404, 502, 504]))),
                ],
                "delete": [
                    "operationId": "deleteTeleconsultation",
                    "summary": "Trash the teleconsultation and delete its Bandyer room",
                    "tags": ["teleconsultation"],
                    "responses": .object(JSONObject([("204", ["description": "Deleted"])] + errors([404, 502, 504]))),
                ],
            ]),
            ("/teleconsultation/{roomId}/participants/data", [
                "parameters": [roomIdParameter],
                "post": [
                    "operationId": "addParticipant",
                    "summary": "Add one participant (creates the room when it is the last one)",
                    "tags": ["teleconsultation"], "requestBody": body("Participant"),
                    "responses": .object(JSONObject([("201", ["description": "Added"])] + errors(writeErrors))),
                ],
            ]),
        ]
    }

    static func teleconsultationSchemas(mode: OperatingMode) -> [(String, JSONValue)] {
        let text: JSONValue = ["type": "string", "minLength": 1, "maxLength": 1024]
        var participantProperties = JSONObject([("userExternalId", ["type": "string", "minLength": 1, "maxLength": 4096]), ("language", text)])
        var required: [JSONValue] = ["userExternalId"]
        if mode == .standalone {
            participantProperties["groups"] = ["type": "array", "minItems": 1, "items": text]
            participantProperties["fullName"] = text
            required += ["groups", "fullName"]
        }
        let participant: JSONValue = ["type": "object", "additionalProperties": false, "required": .array(required),
                                      "properties": .object(participantProperties)]
        let participantsObject: JSONValue = [
            "type": "object", "additionalProperties": false, "required": ["number", "data"],
            "properties": [
                "number": ["type": "integer", "minimum": 2, "maximum": 25],
                "data": ["type": "array", "maxItems": 25, "items": ["$ref": "#/components/schemas/Participant"]],
            ],
        ]
        let participants: JSONValue = mode == .auth0
            ? ["oneOf": [["type": "array", "minItems": 2, "maxItems": 25, "items": ["type": "string", "minLength": 1, "maxLength": 4096]], participantsObject]]
            : participantsObject
        let date: JSONValue = ["type": "string", "format": "date-time", "pattern": #"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})?Z$"#,
                               "example": "2026-02-22T15:30:00.000Z", "description": "ISO 8601 UTC, YYYY-MM-DDTHH:mm:ss.sssZ (milliseconds optional)"]
        let properties: JSONValue = ["participants": participants, "start_date": date, "end_date": date]
        return [
            ("Participant", participant),
            ("TeleconsultationCreate", ["type": "object", "additionalProperties": false,
                                        "required": ["participants", "start_date", "end_date"], "properties": properties]),
            ("TeleconsultationUpdate", ["type": "object", "additionalProperties": false, "minProperties": 1, "properties": properties]),
            ("RoomCreated", ["type": "object", "required": ["roomId"], "properties": ["roomId": ["type": "string"]]]),
            ("JoinInfo", [
                "type": "object", "required": ["bandyerUserId", "accessLinkURL", "participantsBandyerCall"],
                "properties": [
                    "bandyerUserId": ["type": "string", "nullable": true],
                    "accessLinkURL": ["type": "string", "nullable": true],
                    "participantsBandyerCall": ["type": "array", "items": [
                        "type": "object", "required": ["bandyerUserId", "fullName"],
                        "properties": ["bandyerUserId": ["type": "string", "nullable": true], "fullName": ["type": "string", "nullable": true]],
                    ]],
                ],
            ]),
        ]
    }

    /// The document; `basePath` is the prefix the frontend uses (the server URL).
    public static func make(basePath: String, mode: OperatingMode) -> JSONValue {
        var schemas = components["schemas"]!.objectValue!
        for (name, schema) in teleconsultationSchemas(mode: mode) { schemas[name] = schema }
        let extraPaths = teleconsultationPaths()
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
