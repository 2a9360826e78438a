import HTTPTypes
import Responder
import StrictJSON

/// The one error type at the edge: status, `error` and `message`, the CRUD service's shape.
public struct APIError: Error, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var error: String
    public var message: String
    /// Extra response headers (`Allow` on 405).
    public var headers: [(HTTPField.Name, String)] = []

    public init(status: HTTPResponse.Status, error: String, message: String, headers: [(HTTPField.Name, String)] = []) {
        self.status = status
        self.error = error
        self.message = message
        self.headers = headers
    }

    /// A fixed text the API promises: `error` carries it and `message` repeats it.
    public static func fixed(_ status: HTTPResponse.Status, _ text: String) -> APIError {
        APIError(status: status, error: text, message: text)
    }

    /// A validation failure naming the field: `error` is the reason phrase.
    public static func badRequest(_ message: String) -> APIError {
        APIError(status: .badRequest, error: "Bad Request", message: message)
    }

    public static func == (lhs: APIError, rhs: APIError) -> Bool {
        lhs.status == rhs.status && lhs.error == rhs.error && lhs.message == rhs.message
    }

    public var body: JSONValue {
        ["statusCode": .number(Double(status.code)), "error": .string(error), "message": .string(message)]
    }

    public var response: Response {
        var fields = HTTPFields()
        fields[.contentType] = "application/json; charset=utf-8"
        for (name, value) in headers { fields[name] = value }
        return Response(status: status, headerFields: fields, body: body.jsonBytes)
    }
}
