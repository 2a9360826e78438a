import HTTPTypes
import Responder
import Testing
@testable import FastCGI

@Suite struct FastCGIMappingTests {
    @Test func mapsMethodURIAndHeaders() throws {
        let head = try FastCGIRequestMapper.makeHead(params: [
            ("REQUEST_METHOD", "PATCH"), ("REQUEST_URI", "/api/v1/telecons-be/teleconsultation/abc?x=1"),
            ("QUERY_STRING", "x=1"), ("CONTENT_TYPE", "application/json"), ("CONTENT_LENGTH", "12"),
            ("HTTP_X_REQUEST_ID", "rid-1"), ("HTTP_MIAUSERID", "u1"), ("HTTP_CONTENT_TYPE", "text/plain"),
            ("SCRIPT_FILENAME", "/x"), ("SERVER_SOFTWARE", "nginx"),
        ])
        #expect(head.method == .patch)
        #expect(head.path == "/api/v1/telecons-be/teleconsultation/abc?x=1")
        #expect(head.headerFields[.contentType] == "application/json")
        #expect(head.headerFields[.contentLength] == "12")
        #expect(head.headerFields[HTTPField.Name("x-request-id")!] == "rid-1")
        #expect(head.headerFields[HTTPField.Name("miauserid")!] == "u1")
        #expect(head.headerFields.count == 4)
        let request = Request(head: head)
        #expect(request.path == "/api/v1/telecons-be/teleconsultation/abc")
        #expect(request.query == "x=1")
    }

    /// A web server that sets a CGI variable twice means the later value: nginx sends both
    /// when a location adds `fastcgi_param CONTENT_LENGTH ""` after `include fastcgi_params`,
    /// as the edge profile's identity subrequest once did with a large upload's length.
    @Test func aLaterEmptyContentLengthOrTypeMeansNone() throws {
        let head = try FastCGIRequestMapper.makeHead(params: [
            ("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/-/identity"), ("CONTENT_TYPE", "multipart/form-data; boundary=b"),
            ("CONTENT_LENGTH", "1500000"), ("CONTENT_TYPE", ""), ("CONTENT_LENGTH", ""),
        ])
        #expect(head.headerFields[.contentLength] == nil && head.headerFields[.contentType] == nil)
        let replaced = try FastCGIRequestMapper.makeHead(params: [
            ("REQUEST_METHOD", "POST"), ("REQUEST_URI", "/"), ("CONTENT_LENGTH", "9"), ("CONTENT_LENGTH", "12"),
        ])
        #expect(replaced.headerFields[values: .contentLength] == ["12"])
    }

    @Test func fallsBackToScriptNameAndPathInfo() throws {
        let head = try FastCGIRequestMapper.makeHead(params: [
            ("REQUEST_METHOD", "GET"), ("SCRIPT_NAME", "/teleconsultation"), ("PATH_INFO", "/x"), ("QUERY_STRING", "a=b"),
        ])
        #expect(head.path == "/teleconsultation/x?a=b")
    }

    @Test func refusesMissingOrInvalidMethod() {
        #expect(throws: FastCGIRequestMapper.MappingError.missingMethod) { try FastCGIRequestMapper.makeHead(params: [("REQUEST_URI", "/")]) }
        #expect(throws: FastCGIRequestMapper.MappingError.invalidMethod("G T")) {
            try FastCGIRequestMapper.makeHead(params: [("REQUEST_METHOD", "G T"), ("REQUEST_URI", "/")])
        }
        #expect(throws: FastCGIRequestMapper.MappingError.invalidURI("x")) {
            try FastCGIRequestMapper.makeHead(params: [("REQUEST_METHOD", "GET"), ("REQUEST_URI", "x")])
        }
    }

    @Test func writesStatusWithReasonAndLength() {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        let bytes = FastCGIResponseWriter.serialize(Response(status: .created, headerFields: fields, body: Array("{}".utf8)))
        #expect(String(decoding: bytes, as: UTF8.self) == "Status: 201 Created\r\ncontent-type: application/json\r\nContent-Length: 2\r\n\r\n{}")
    }

    @Test func noContentHasNoLengthAndHeaderValuesCannotSplitLines() {
        var fields = HTTPFields()
        fields[HTTPField.Name("x-a")!] = "ok"
        let bytes = FastCGIResponseWriter.serialize(Response(status: .noContent, headerFields: fields))
        #expect(String(decoding: bytes, as: UTF8.self) == "Status: 204 No Content\r\nx-a: ok\r\n\r\n")
    }

    @Test func parsesSocketAddresses() throws {
        #expect(try ListenSocket.parse("/run/x.sock") == .unix(path: "/run/x.sock"))
        #expect(try ListenSocket.parse("127.0.0.1:9000") == .tcp(host: "127.0.0.1", port: 9000))
        #expect(try ListenSocket.parse(":9000") == .tcp(host: "", port: 9000))
        #expect(throws: ListenSocket.ParseError.self) { try ListenSocket.parse("nonsense") }
        #expect(throws: ListenSocket.ParseError.self) { try ListenSocket.parse("host:99999") }
    }
}
