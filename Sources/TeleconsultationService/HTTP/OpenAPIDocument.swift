import StrictJSON
import TeleconsultationDomain
import TeleconsultationPorts

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
            ] + errors([401, 404, 502, 503, 504])))]]),
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
            401: "Not logged in, not a participant, or not allowed", 404: "No such teleconsultation (or trashed)",
            409: "Can no longer be changed, already complete, participant already present, changed concurrently, or an Idempotency-Key in progress",
            422: "Idempotency-Key reused with a different request",
            413: "Body too large", 502: "An upstream failed", 503: "Not configured, shutting down, or (AUDIT_REQUIRED) the audit record could not be written",
            504: "An upstream did not answer in time",
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

    static func json(_ schema: String) -> JSONValue {
        ["application/json": ["schema": ["$ref": .string("#/components/schemas/\(schema)")]]]
    }

    static func ok(_ description: String, _ schema: String) -> JSONValue {
        ["description": .string(description), "content": json(schema)]
    }

    static let idempotencyKey: JSONValue = [
        "name": "Idempotency-Key", "in": "header", "required": false,
        "description": "Makes a retry safe: the first answer (not a 5xx) is kept and replayed with Idempotent-Replayed: true; the same key with another request is 422, while the first is processed 409",
        "schema": ["type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7E]+$"],
    ]
    static let replayed: JSONValue = ["Idempotent-Replayed": ["description": "true: this is the kept answer of an earlier request with the same Idempotency-Key",
                                                              "schema": ["type": "string", "enum": ["true"]]]]

    static func teleconsultationPaths() -> [(String, JSONValue)] {
        let writeErrors = [400, 404, 409, 413, 502, 504]
        let caller: JSONValue = ["name": "miauserid", "in": "header", "required": false,
                                 "description": "The caller's external id (by default; set by nginx's edge profile or the gateway)",
                                 "schema": ["type": "string"]]
        return [
            ("/teleconsultation", ["post": [
                "operationId": "createTeleconsultation",
                "summary": "Create a teleconsultation (and its Bandyer room once every participant is known)",
                "tags": ["teleconsultation"], "requestBody": body("TeleconsultationCreate"), "parameters": [idempotencyKey],
                "responses": .object(JSONObject([("201", [
                    "description": "Created", "content": json("RoomCreated"), "headers": replayed,
                    "links": .object(JSONObject(["getTeleconsultation", "updateTeleconsultation", "addParticipant", "deleteTeleconsultation",
                                                 "deleteUploads"].map {
                        ($0, ["operationId": .string($0), "parameters": ["roomId": "$response.body#/roomId"]])
                    })),
                ])] + errors([400, 409, 413, 422, 502, 504]))),
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
                    "parameters": [
                        caller,
                        ["name": "details", "in": "query", "required": false, "description": "true: add the provider's room information",
                         "schema": ["type": "string"]],
                        ["name": "language", "in": "query", "required": false, "description": "The language the link opens in",
                         "schema": ["type": "string", "enum": .array(LinkLanguage.allCases.map { .string($0.rawValue) })]],
                        ["name": "useBackground", "in": "query", "required": false,
                         "description": "true: open over the company background (callers in groupsWithBackgroundList)", "schema": ["type": "string"]],
                    ],
                    "responses": .object(JSONObject([("200", [
                        "description": "Join information", "content": json("JoinInfo"),
                        "headers": ["Retry-After": ["description": "While accessLinkURL is null: the seconds to wait before asking again", "schema": ["type": "integer"]]],
                    ])] + errors([400, 401, 404, 502, 503, 504]))),
                ],
                "delete": [
                    "operationId": "deleteTeleconsultation",
                    "summary": "Trash the teleconsultation, then delete its uploads (when enabled) and its Bandyer room",
                    "tags": ["teleconsultation"],
                    "responses": .object(JSONObject([("204", ["description": "Deleted"])] + errors([404, 502, 504]))),
                ],
            ]),
            ("/teleconsultation/{roomId}/participants/data", [
                "parameters": [roomIdParameter],
                "post": [
                    "operationId": "addParticipant",
                    "summary": "Add one participant (creates the room when it is the last one)",
                    "tags": ["teleconsultation"], "requestBody": body("Participant"), "parameters": [idempotencyKey],
                    "responses": .object(JSONObject([("201", ["description": "Added", "headers": replayed])] + errors(writeErrors + [422]))),
                ],
            ]),
            ("/teleconsultation/{roomId}/audit", [
                "parameters": [roomIdParameter],
                "get": [
                    "operationId": "getAuditTrail",
                    "summary": "Who created, changed, deleted it, and to whom each link and token was first issued (plus participants only; AUDIT_CRUD_NAME)",
                    "tags": ["teleconsultation"],
                    "parameters": [
                        caller,
                        ["name": "limit", "in": "query", "required": false, "schema": ["type": "integer", "minimum": 1, "maximum": 200, "default": 50]],
                        ["name": "before", "in": "query", "required": false, "description": "Only records before this `at` (the previous page's `next`)",
                         "schema": ["type": "string", "format": "date-time"]],
                    ],
                    "responses": .object(JSONObject([("200", ok("Records, newest first", "AuditPage"))] + errors([400, 401, 404, 502, 504]))),
                ],
            ]),
            ("/teleconsultation/{roomId}/uploads", [
                "parameters": [roomIdParameter],
                "delete": [
                    "operationId": "deleteUploads",
                    "summary": "Delete the files shared during the call (TELECONSULTATION_DELETE_UPLOADS; 204 when it is off)",
                    "tags": ["teleconsultation"], "parameters": [caller],
                    "responses": .object(JSONObject([("200", ok("Uploads listed and deleted", "UploadsDeleted")),
                                                     ("204", ["description": "Deleting uploads is off"])] + errors([401, 404, 502, 504]))),
                ],
            ]),
            ("/credentials", ["post": [
                "operationId": "createCredentials",
                "summary": "An SDK access token for the calling user (mobile apps)",
                "tags": ["account"], "parameters": [caller, idempotencyKey],
                "requestBody": ["required": false, "content": json("CredentialsRequest")],
                "responses": .object(JSONObject([("201", ["description": "Issued", "content": json("Credentials"), "headers": replayed])]
                                                + errors([400, 401, 409, 413, 422, 502, 503, 504]))),
            ]]),
            ("/settings/background-image", ["post": [
                "operationId": "uploadBackgroundImage",
                "summary": "Upload the company's virtual background (a JPEG; plus callers only)",
                "tags": ["settings"], "parameters": [caller],
                "requestBody": ["required": true, "content": ["multipart/form-data": ["schema": [
                    "type": "object", "required": ["virtual_background"],
                    "properties": ["virtual_background": ["type": "string", "format": "binary", "description": "A JPEG image"]],
                ]]]],
                "responses": .object(JSONObject([("200", ok("Stored", "BackgroundUploaded"))] + errors([400, 401, 413, 502, 504]))),
            ]]),
            ("/settings/update", ["patch": [
                "operationId": "updateSettings",
                "summary": "Make a stored background the company's default (plus callers only)",
                "tags": ["settings"], "parameters": [caller], "requestBody": body("SettingsUpdate"),
                "responses": .object(JSONObject([("200", ok("Updated", "CompanyUpdated"))] + errors([400, 401, 413, 502, 504]))),
            ]]),
        ]
    }

    static func teleconsultationSchemas(mode: OperatingMode) -> [(String, JSONValue)] {
        let text: JSONValue = ["type": "string", "minLength": 1, "maxLength": 1024]
        let id: JSONValue = ["type": "string", "minLength": 1, "maxLength": 4096]
        var participantProperties = JSONObject([("userExternalId", id), ("userId", id), ("language", text)])
        // Exactly one of the two names of the id (and in standalone mode of the groups).
        var exactlyOne: [JSONValue] = [["oneOf": [["required": ["userExternalId"]], ["required": ["userId"]]]]]
        var required: [JSONValue] = []
        if mode == .standalone {
            participantProperties["groups"] = ["type": "array", "minItems": 1, "items": text]
            participantProperties["group"] = text
            participantProperties["fullName"] = text
            exactlyOne.append(["oneOf": [["required": ["groups"]], ["required": ["group"]]]])
            required = ["fullName"]
        }
        var participantSchema = JSONObject([("type", "object"), ("additionalProperties", false), ("properties", .object(participantProperties)),
                                            ("allOf", .array(exactlyOne))])
        if !required.isEmpty { participantSchema["required"] = .array(required) }
        let participantsObject: JSONValue = [
            "type": "object", "additionalProperties": false, "required": ["number", "data"],
            "properties": [
                "number": ["type": "integer", "minimum": 2, "maximum": 25],
                "data": ["type": "array", "maxItems": 25, "items": ["$ref": "#/components/schemas/Participant"]],
            ],
        ]
        let participants: JSONValue = mode == .auth0
            ? ["oneOf": [["type": "array", "minItems": 2, "maxItems": 25, "items": id], participantsObject]]
            : participantsObject
        let date: JSONValue = ["type": "string", "format": "date-time", "pattern": #"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})?Z$"#,
                               "example": "2026-02-22T15:30:00.000Z", "description": "ISO 8601 UTC, YYYY-MM-DDTHH:mm:ss.sssZ (milliseconds optional)"]
        let duration: JSONValue = ["type": "integer", "minimum": 300, "maximum": 86400,
                                   "description": "Sets the end from the start (not with end_date)"]
        let properties: JSONValue = ["participants": participants, "start_date": date, "end_date": date, "duration_in_seconds": duration]
        let nullable: (String) -> JSONValue = { ["type": .string($0), "nullable": true] }
        let anyValue: JSONValue = ["nullable": true, "description": "As the provider gives it"]
        return [
            ("Participant", .object(participantSchema)),
            ("TeleconsultationCreate", ["type": "object", "additionalProperties": false, "required": ["participants", "start_date"],
                                        "properties": properties,
                                        "oneOf": [["required": ["end_date"]], ["required": ["duration_in_seconds"]]]]),
            ("TeleconsultationUpdate", ["type": "object", "additionalProperties": false, "minProperties": 1, "properties": properties,
                                        "not": ["required": ["end_date", "duration_in_seconds"]]]),
            ("RoomCreated", ["type": "object", "required": ["roomId"], "properties": ["roomId": ["type": "string"]]]),
            ("RoomDetails", ["type": "object", "nullable": true,
                             "required": ["recording", "recordingStatus", "callType", "description", "status", "disabled", "creationDate",
                                          "durationInSeconds", "durationUsedInSeconds", "live"],
                             "properties": .object(JSONObject(["recording", "recordingStatus", "callType", "description", "status", "disabled",
                                                               "creationDate", "durationInSeconds", "durationUsedInSeconds", "live"].map { ($0, anyValue) }))]),
            ("JoinInfo", [
                "type": "object", "required": ["bandyerUserId", "accessLinkURL", "participantsBandyerCall", "accessOpensAt", "scheduledEndAt", "accessLinkReason"],
                "properties": [
                    "bandyerUserId": nullable("string"),
                    "accessLinkURL": nullable("string"),
                    "participantsBandyerCall": ["type": "array", "items": [
                        "type": "object", "required": ["bandyerUserId", "fullName"],
                        "properties": ["bandyerUserId": nullable("string"), "fullName": nullable("string")],
                    ]],
                    "details": ["$ref": "#/components/schemas/RoomDetails"],
                    "accessOpensAt": ["type": "string", "format": "date-time", "description": "From when accessLinkURL can be non-null"],
                    "scheduledEndAt": ["type": "string", "format": "date-time", "nullable": true, "description": "The end date (the link stays after it)"],
                    "accessLinkReason": ["type": "string", "nullable": true, "enum": ["too_early", "participants_missing", "room_unavailable", .null],
                                         "description": "null when accessLinkURL is a link"],
                ],
            ]),
            ("AuditRecord", ["type": "object", "required": ["at", "action", "teleconsultationId", "actor", "subject", "requestId", "outcome"],
                             "properties": [
                                 "at": ["type": "string", "format": "date-time"],
                                 "action": ["type": "string", "enum": .array(AuditActionNames.all.map(JSONValue.string))],
                                 "teleconsultationId": nullable("string"), "actor": nullable("string"), "subject": nullable("string"),
                                 "requestId": ["type": "string"], "outcome": ["type": "integer"],
                             ]]),
            ("AuditPage", ["type": "object", "required": ["records", "next"], "properties": [
                "records": ["type": "array", "items": ["$ref": "#/components/schemas/AuditRecord"]],
                "next": ["type": "string", "format": "date-time", "nullable": true],
            ]]),
            ("UploadsDeleted", ["type": "object", "required": ["total", "deleted"],
                                "properties": ["total": ["type": "integer", "minimum": 0], "deleted": ["type": "integer", "minimum": 0]]]),
            ("CredentialsRequest", ["type": "object", "additionalProperties": false,
                                    "properties": ["expiresIn": ["type": "integer", "minimum": 360, "maximum": 86400, "default": 3600]]]),
            ("Credentials", ["type": "object", "required": ["accessToken", "expiresAt", "bandyerUserId"],
                             "properties": ["accessToken": ["type": "string"], "expiresAt": ["type": "string", "format": "date-time"],
                                            "bandyerUserId": ["type": "string"]]]),
            ("BackgroundUploaded", ["type": "object", "required": ["virtual_background"], "properties": ["virtual_background": [
                "type": "object", "required": ["background_alias", "url", "creation_date"],
                "properties": ["background_alias": ["type": "string"], "url": anyValue, "creation_date": anyValue],
            ]]]),
            ("SettingsUpdate", ["type": "object", "additionalProperties": false, "required": ["background_alias"],
                                "properties": ["background_alias": text]]),
            ("CompanyUpdated", ["type": "object", "required": ["company"], "properties": ["company": [
                "type": "object",
                "required": ["name", "default_language", "default_background", "end_call_redirect_url", "user_details_provider_url",
                             "end_call_redirect_timeout_ms"],
                "properties": .object(JSONObject(["name", "default_language", "default_background", "end_call_redirect_url",
                                                  "user_details_provider_url", "end_call_redirect_timeout_ms"].map { ($0, anyValue) })),
            ]]]),
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

/// The audit actions' names, for the document (the record type lives with the ports).
enum AuditActionNames {
    static var all: [String] { AuditRecord.Action.allCases.map(\.rawValue) }
}
