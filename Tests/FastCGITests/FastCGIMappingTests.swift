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

@Suite struct FastCGIRecordsTests {
    func record(_ type: UInt8, _ length: Int, padding: UInt8 = 0) -> [UInt8] {
        [1, type, 0, 1, UInt8(length >> 8), UInt8(length & 0xFF), padding, 0] + Array(repeating: 0, count: length + Int(padding))
    }

    @Test func aRequestEndsWithAnEmptyStdinRecord() {
        let begin = record(1, 8), params = record(4, 300, padding: 4), endParams = record(4, 0), body = record(5, 10, padding: 6), end = record(5, 0)
        #expect(FastCGIRecords.endsRequest(begin + params + endParams + body + end))
        #expect(FastCGIRecords.endsRequest(begin + params + endParams + end))
        #expect(!FastCGIRecords.endsRequest(begin + params + endParams + body))
        #expect(!FastCGIRecords.endsRequest(Array((begin + params + endParams + end).dropLast(1))))
        #expect(!FastCGIRecords.endsRequest([9] + Array(record(5, 0).dropFirst())))
        #expect(!FastCGIRecords.endsRequest([UInt8]()))
    }
}

@Suite struct FastCGIResponseRecordsTests {
    @Test func framesStdoutThenEndRequest() {
        let bytes = FastCGIResponseRecords.frame(Array("hi".utf8), requestId: 0x0102)
        #expect(bytes == [1, 6, 1, 2, 0, 2, 0, 0, 104, 105,  // STDOUT "hi"
                          1, 6, 1, 2, 0, 0, 0, 0,            // empty STDOUT
                          1, 3, 1, 2, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])  // END_REQUEST, status 0, complete
    }

    @Test func splitsLargePayloadsIntoRecordsBelow64KiB() {
        let payload = [UInt8](repeating: 7, count: 150_000)
        let bytes = FastCGIResponseRecords.frame(payload, requestId: 1)
        var offset = 0
        var content = 0
        var types: [UInt8] = []
        while offset < bytes.count {
            let length = Int(bytes[offset + 4]) << 8 | Int(bytes[offset + 5])
            types.append(bytes[offset + 1])
            if bytes[offset + 1] == 6 { content += length }
            offset += 8 + length + Int(bytes[offset + 6])
        }
        #expect(content == 150_000 && types == [6, 6, 6, 6, 3] && offset == bytes.count)
    }
}

@Suite struct FastCGIParamSelectionTests {
    func mapped(_ name: String) -> Bool {
        Array(name.utf8).withUnsafeBufferPointer { FastCGIRequestMapper.isMapped($0) }
    }

    @Test func keepsHeadersAndTheVariablesTheMappingReads() {
        for name in ["HTTP_X_REQUEST_ID", "HTTP_MIAUSERID", "REQUEST_METHOD", "REQUEST_URI", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH", "SCRIPT_NAME", "PATH_INFO"] {
            #expect(mapped(name), "\(name)")
        }
        for name in ["DOCUMENT_ROOT", "SERVER_SOFTWARE", "REMOTE_ADDR", "HTTP_", "HTTPS", "REQUEST_METHODX"] {
            #expect(!mapped(name), "\(name)")
        }
    }
}
