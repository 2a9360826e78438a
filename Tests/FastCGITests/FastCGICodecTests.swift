import HTTPTypes
import NIOCore
import NIOEmbedded
import Testing
@testable import FastCGI

/// The FastCGI codec over NIO's EmbeddedChannel: bytes in, requests and records out.
@Suite struct FastCGICodecTests {
    static func record(_ type: UInt8, id: UInt16 = 1, _ content: [UInt8], padding: UInt8 = 0) -> [UInt8] {
        [1, type, UInt8(id >> 8), UInt8(id & 0xFF), UInt8(content.count >> 8), UInt8(content.count & 0xFF), padding, 0]
            + content + [UInt8](repeating: 0, count: Int(padding))
    }

    static func params(_ pairs: [(String, String)]) -> [UInt8] {
        var b = ByteBuffer()
        for (n, v) in pairs { FastCGINameValuePairs.append(name: n, value: v, to: &b) }
        return Array(b.readableBytesView)
    }

    static func request(id: UInt16 = 1, keep: Bool = false, params: [(String, String)], body: [UInt8] = []) -> [UInt8] {
        var out = record(1, id: id, [0, 1, keep ? 1 : 0, 0, 0, 0, 0, 0])
        out += record(4, id: id, Self.params(params), padding: 3) + record(4, id: id, [])
        var offset = 0
        while offset < body.count {
            let n = min(60_000, body.count - offset)
            out += record(5, id: id, Array(body[offset..<(offset + n)]))
            offset += n
        }
        return out + record(5, id: id, [])
    }

    func channel(bodyLimit: Int = 1 << 20) throws -> EmbeddedChannel {
        let limits = FastCGIConnectionLimits(bodyLimit: { head in head.path?.hasPrefix("/big") == true ? 4 * bodyLimit : bodyLimit },
                                             ioTimeout: .seconds(5), idleTimeout: .seconds(60))
        let c = EmbeddedChannel()
        try c.pipeline.syncOperations.addHandler(FastCGIRequestAssembler(limits: limits))
        try c.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return c
    }

    func send(_ bytes: [UInt8], to c: EmbeddedChannel, inPiecesOf piece: Int = .max) throws {
        var offset = 0
        while offset < bytes.count {
            let n = min(piece, bytes.count - offset)
            try c.writeInbound(ByteBuffer(bytes: bytes[offset..<(offset + n)]))
            offset += n
        }
    }

    func written(_ c: EmbeddedChannel) throws -> [UInt8] {
        var out: [UInt8] = []
        while let b = try c.readOutbound(as: ByteBuffer.self) { out += b.readableBytesView }
        return out
    }

    @Test func aRequestArrivesWholeWhateverTheReadsSplitIt() throws {
        for piece in [1, 7, 4096] {
            let c = try channel()
            let body = Array("{\"a\":1}".utf8)
            try send(Self.request(params: [("REQUEST_METHOD", "POST"), ("REQUEST_URI", "/teleconsultation"), ("CONTENT_LENGTH", "7"),
                                           ("HTTP_MIAUSERID", "u1"), ("DOCUMENT_ROOT", "/var/www")], body: body), to: c, inPiecesOf: piece)
            let request = try #require(try c.readInbound(as: FastCGIRequest.self))
            let head = try request.head.get()
            #expect(head.method == .post && head.path == "/teleconsultation" && head.headerFields[HTTPField.Name("miauserid")!] == "u1")
            #expect(request.body == body && request.bodyTooLarge == nil && request.requestId == 1 && !request.keepConnection)
        }
    }

    @Test func theResponseIsStdoutRecordsThenEndRequestAndTheConnectionCloses() throws {
        let c = try channel()
        try send(Self.request(id: 7, params: [("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/")]), to: c)
        _ = try c.readInbound(as: FastCGIRequest.self)
        let cgi = [UInt8](repeating: UInt8(ascii: "x"), count: 70_000)
        try c.writeOutbound(FastCGIResponse(requestId: 7, keepConnection: false, cgi: cgi))
        let out = try written(c)
        // Two STDOUT records (65 528 + 4 472 bytes), an empty one, END_REQUEST (app status 0, complete).
        #expect(Array(out[0..<8]) == [1, 6, 0, 7, 0xFF, 0xF8, 0, 0])
        #expect(Array(out[(8 + 65_528)..<(16 + 65_528)]) == [1, 6, 0, 7, 0x11, 0x78, 0, 0])
        let tail = Array(out.suffix(24))
        #expect(Array(tail[0..<8]) == [1, 6, 0, 7, 0, 0, 0, 0] && Array(tail[8..<16]) == [1, 3, 0, 7, 0, 8, 0, 0] && Array(tail[16..<24]) == [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(out.count == 70_000 + 8 * 4 + 8)
        #expect(!c.isActive, "without FCGI_KEEP_CONN the connection closes after the response")
    }

    @Test func aKeptConnectionServesOneRequestAfterAnother() throws {
        let c = try channel()
        for id in [1, 2] as [UInt16] {
            try send(Self.request(id: id, keep: true, params: [("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/-/healthz")]), to: c)
            let request = try #require(try c.readInbound(as: FastCGIRequest.self))
            #expect(request.requestId == id && request.keepConnection)
            try c.writeOutbound(FastCGIResponse(requestId: id, keepConnection: true, cgi: Array("Status: 200 OK\r\n\r\n".utf8)))
            _ = try written(c)
            #expect(c.isActive)
        }
    }

    @Test func aBodyPastItsRoutesLimitIsDroppedAndSaid() throws {
        let c = try channel(bodyLimit: 10)
        try send(Self.request(params: [("REQUEST_METHOD", "POST"), ("REQUEST_URI", "/x")], body: [UInt8](repeating: 1, count: 11)), to: c)
        let small = try #require(try c.readInbound(as: FastCGIRequest.self))
        #expect(small.bodyTooLarge == 10 && small.body.isEmpty)
        // The announced length alone decides as well; and another route may take more.
        let d = try channel(bodyLimit: 10)
        try send(Self.request(params: [("REQUEST_METHOD", "POST"), ("REQUEST_URI", "/big"), ("CONTENT_LENGTH", "30")],
                              body: [UInt8](repeating: 2, count: 30)), to: d)
        let big = try #require(try d.readInbound(as: FastCGIRequest.self))
        #expect(big.bodyTooLarge == nil && big.body.count == 30)
    }

    @Test func managementRecordsAreAnsweredAndASecondRequestIsRefused() throws {
        let c = try channel()
        try send(Self.record(9, id: 0, Self.params([("FCGI_MPXS_CONNS", ""), ("FCGI_MAX_CONNS", ""), ("OTHER", "")])), to: c)
        let values = try written(c)
        #expect(Array(values[0..<4]) == [1, 10, 0, 0])
        #expect(String(decoding: values.dropFirst(8), as: UTF8.self).contains("FCGI_MPXS_CONNS0"))
        try send(Self.record(42, id: 0, []), to: c)
        #expect(try written(c) == [1, 11, 0, 0, 0, 8, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0])
        // A request in progress: another BEGIN_REQUEST gets CANT_MPX_CONN.
        try send(Self.record(1, id: 1, [0, 1, 1, 0, 0, 0, 0, 0]), to: c)
        try send(Self.record(1, id: 2, [0, 1, 1, 0, 0, 0, 0, 0]), to: c)
        #expect(try written(c) == [1, 3, 0, 2, 0, 8, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0])
        // A role other than responder.
        let d = try channel()
        try send(Self.record(1, id: 3, [0, 2, 0, 0, 0, 0, 0, 0]), to: d)
        #expect(try written(d) == [1, 3, 0, 3, 0, 8, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0])
    }

    @Test func anotherProtocolVersionOrBrokenParamsCloseTheConnection() throws {
        let c = try channel()
        try? send([9, 1, 0, 1, 0, 8, 0, 0] + [0, 1, 0, 0, 0, 0, 0, 0], to: c)
        #expect(!c.isActive)
        let d = try channel()
        try send(Self.record(1, [0, 1, 0, 0, 0, 0, 0, 0]) + Self.record(4, [200, 200, 1, 2]) + Self.record(4, []) + Self.record(5, []), to: d)
        let request = try #require(try d.readInbound(as: FastCGIRequest.self))
        guard case .failure(.invalidParams) = request.head else { Issue.record("params were taken as valid"); return }
    }

    @Test func onlyTheParamsTheMappingReadsAreCopied() throws {
        var b = ByteBuffer()
        for (n, v) in [("HTTP_HOST", "x"), ("REQUEST_METHOD", "GET"), ("SERVER_SOFTWARE", "nginx"), ("CONTENT_TYPE", "a/b"), ("HTTP_", "z")] {
            FastCGINameValuePairs.append(name: n, value: v, to: &b)
        }
        let long = String(repeating: "v", count: 300)
        FastCGINameValuePairs.append(name: "HTTP_X_LONG", value: long, to: &b)
        var variables: [String: String] = [:]
        let kept = try FastCGIRequestAssembler.mappedParams(b, into: &variables)
        #expect(kept.map(\.name) == ["HTTP_HOST", "REQUEST_METHOD", "CONTENT_TYPE", "HTTP_X_LONG"] && kept.last?.value == long)
        #expect(variables.isEmpty)
    }

    @Test func theParamsAskedForReachTheRequestAsServerVariablesAndNoOthers() throws {
        let limits = FastCGIConnectionLimits(bodyLimit: { _ in 1 << 20 }, ioTimeout: .seconds(5), idleTimeout: .seconds(60),
                                             passedParams: [Array("WEB_SERVER_PROOF".utf8)])
        let c = EmbeddedChannel()
        try c.pipeline.syncOperations.addHandler(FastCGIRequestAssembler(limits: limits))
        try c.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try send(Self.request(params: [("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/"), ("WEB_SERVER_PROOF", "s3cret"),
                                       ("WEB_SERVER_PROOFS", "x"), ("SERVER_SOFTWARE", "nginx"), ("HTTP_WEB_SERVER_PROOF", "forged")]), to: c)
        let request = try #require(try c.readInbound(as: FastCGIRequest.self))
        #expect(request.serverVariables == ["WEB_SERVER_PROOF": "s3cret"])
        // A header of the same name stays a header.
        #expect(try request.head.get().headerFields[HTTPField.Name("web-server-proof")!] == "forged")
        // Without passedParams, nothing is passed.
        let d = try channel()
        try send(Self.request(params: [("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/"), ("WEB_SERVER_PROOF", "s3cret")]), to: d)
        #expect(try #require(try d.readInbound(as: FastCGIRequest.self)).serverVariables.isEmpty)
    }

    // MARK: deadlines (on the embedded loop's clock)

    static let healthz = [("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/-/healthz")]

    func answer(_ request: FastCGIRequest, on c: EmbeddedChannel) throws {
        try c.writeOutbound(FastCGIResponse(requestId: request.requestId, keepConnection: request.keepConnection,
                                            cgi: Array("Status: 200 OK\r\n\r\n".utf8)))
        _ = try written(c)
    }

    @Test func aPeerThatBringsNoWholeRequestIsClosedAtTheIODeadline() throws {
        let c = try channel()
        c.embeddedEventLoop.advanceTime(by: .milliseconds(4_900))
        #expect(c.isActive)
        c.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        #expect(!c.isActive, "nothing arrived within 5 s")

        // A request that begins late gets its own 5 s (the early timer re-arms, it does not close).
        let d = try channel()
        d.embeddedEventLoop.advanceTime(by: .seconds(4))
        try send(Self.record(1, [0, 1, 1, 0, 0, 0, 0, 0]), to: d)
        d.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(d.isActive, "the deadline moved with the request's beginning")
        d.embeddedEventLoop.advanceTime(by: .milliseconds(1_100))
        #expect(!d.isActive, "the request did not complete within 5 s of its beginning")
    }

    @Test func aKeptConnectionIdlesForTheIdleTimeoutAndIsNotTimedWhileAnswered() throws {
        let c = try channel()
        try send(Self.request(keep: true, params: Self.healthz), to: c)
        let request = try #require(try c.readInbound(as: FastCGIRequest.self))
        // The application may take longer than the I/O deadline: it has its own.
        c.embeddedEventLoop.advanceTime(by: .seconds(20))
        #expect(c.isActive)
        try answer(request, on: c)
        c.embeddedEventLoop.advanceTime(by: .seconds(59))
        #expect(c.isActive)
        c.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!c.isActive, "idle past the 60 s idle timeout")
    }

    @Test func whenTheServerStopsAKeptConnectionWaitsTheDrainGraceForTheWebServerToCloseIt() throws {
        // Idle: open for the grace (nginx may be writing into it), then closed.
        let c = try channel()
        try send(Self.request(keep: true, params: Self.healthz), to: c)
        try answer(try #require(try c.readInbound(as: FastCGIRequest.self)), on: c)
        try c.pipeline.triggerUserOutboundEvent(FastCGIQuiesce()).wait()
        c.embeddedEventLoop.advanceTime(by: .milliseconds(1_400))
        #expect(c.isActive, "closed while the web server could still be using it")
        // A request within the grace is answered and the connection stays for the rest of it.
        try send(Self.request(id: 2, keep: true, params: Self.healthz), to: c)
        try answer(try #require(try c.readInbound(as: FastCGIRequest.self)), on: c)
        #expect(c.isActive)
        c.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        #expect(!c.isActive, "still open after the drain grace")

        // Busy past the grace: closed right after its response.
        let d = try channel()
        try send(Self.request(keep: true, params: Self.healthz), to: d)
        let busy = try #require(try d.readInbound(as: FastCGIRequest.self))
        try d.pipeline.triggerUserOutboundEvent(FastCGIQuiesce()).wait()
        d.embeddedEventLoop.advanceTime(by: .seconds(3))
        #expect(d.isActive, "the request being answered is not cut off")
        try answer(busy, on: d)
        #expect(!d.isActive)
    }
}
