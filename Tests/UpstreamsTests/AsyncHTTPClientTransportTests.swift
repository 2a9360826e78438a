import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import Testing
@testable import Upstreams

@Suite struct UpstreamURLTests {
    @Test func anAbsoluteURLIsSplitIntoOriginTargetAndHostHeader() throws {
        let u = try UpstreamURL("http://CRUD.local:3000/teleconsultations/abc?_q=%7B%7D#frag")
        #expect(u.origin == .init(tls: false, host: "crud.local", port: 3000))
        #expect(u.target == "/teleconsultations/abc?_q=%7B%7D" && u.hostHeader == "crud.local:3000")
        let s = try UpstreamURL("HTTPS://api.bandyer.example")
        #expect(s.origin == .init(tls: true, host: "api.bandyer.example", port: 443) && s.target == "/" && s.hostHeader == "api.bandyer.example")
        let v6 = try UpstreamURL("http://[::1]:8080?x=1")
        #expect(v6.origin.host == "::1" && v6.origin.port == 8080 && v6.target == "/?x=1" && v6.hostHeader == "[::1]:8080")
    }

    @Test func whatCannotBeSentIsRefusedWithItsReason() {
        for (url, reason) in [("ftp://x/", "not http or https"), ("http://user:pw@x/", "user info"), ("http://:80/", "no host"),
                              ("http://x:0/", "bad port"), ("http://x:65536/", "bad port"), ("http://x:8a/", "bad port"),
                              ("http://[::1/", "unclosed IPv6 address"), ("http://x/a b", "space or control character in the path")] {
            #expect(throws: UpstreamURL.Invalid(url: url, reason: reason)) { try UpstreamURL(url) }
        }
    }
}

/// The client against a scripted HTTP/1.1 server on loopback.
@Suite struct AsyncHTTPClientTransportTests {
    @Test func answersComeBackWholeAndAKeptConnectionIsReused() async throws {
        try await withServer({ _, _ in .respond(status: 200, body: "{\"ok\":true}") }) { server, client in
            for _ in 0..<3 {
                let a = try await client.send(UpstreamRequest(method: "GET", url: server.url("/doc"), headers: [("x-request-id", "r1")]), timeout: .seconds(10))
                #expect(a.status == 200 && String(decoding: a.body, as: UTF8.self) == "{\"ok\":true}")
            }
            #expect(server.connections == 1)
            let seen = try #require(server.requests.first).lowercased()
            #expect(seen.hasPrefix("get /doc http/1.1\r\n") && seen.contains("host: 127.0.0.1:\(server.port)\r\n") && seen.contains("x-request-id: r1\r\n"), "\(seen)")
        }
    }

    @Test func aBodyIsSentWithItsTypeAndLengthAndChunkedAnswersAreRead() async throws {
        try await withServer({ _, _ in .raw("HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n") }) { server, client in
            let a = try await client.send(UpstreamRequest(method: "POST", url: server.url("/c"), body: .json(["k": 1])), timeout: .seconds(10))
            #expect(a.status == 201 && a.body == Array("abcde".utf8))
            let seen = try #require(server.requests.first).lowercased()
            #expect(seen.contains("content-type: application/json\r\n") && seen.contains("content-length: 7\r\n") && seen.hasSuffix("\r\n\r\n{\"k\":1}"))
        }
    }

    @Test func aConnectionTheServerClosesIsNotReused() async throws {
        try await withServer({ _, _ in .respond(status: 200, body: "x", close: true) }) { server, client in
            for _ in 0..<2 { _ = try await client.send(UpstreamRequest(method: "GET", url: server.url("/")), timeout: .seconds(10)) }
            #expect(server.connections == 2)
        }
    }

    @Test func aKeptConnectionIsClosedBeforeTheServersAnnouncedKeepAliveTimeout() async throws {
        try await withServer({ _, _ in .raw("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nkeep-alive: timeout=1, max=100\r\n\r\nok") }) { server, client in
            let began = ContinuousClock.now
            _ = try await client.send(UpstreamRequest(method: "GET", url: server.url("/a")), timeout: .seconds(10))
            // The client's own idle timer is 4 s: only the announced 1 s closes it this soon.
            #expect(await server.closedByClient(atLeast: 1, within: .seconds(3)), "the idle connection was not closed")
            #expect(began.duration(to: .now) < .seconds(1), "closed before the server's 1 s: \(began.duration(to: .now))")
            let a = try await client.send(UpstreamRequest(method: "POST", url: server.url("/b"), body: .json([:])), timeout: .seconds(10))
            #expect(a.status == 200 && server.connections == 2)
        }
        #expect(KeepAliveTimeoutHandler.timeout("max=5, timeout=7") == .seconds(7) && KeepAliveTimeoutHandler.timeout("max=5") == nil)
    }

    @Test func aStaleKeptConnectionIsRetriedOnceForAGetButNeverForAPost() async throws {
        // The second request on every connection is read and dropped: the server closed the
        // connection as the client reused it.
        try await withServer({ index, _ in index == 1 ? .drop : .respond(status: 200, body: "ok") }) { server, client in
            _ = try await client.send(UpstreamRequest(method: "GET", url: server.url("/a")), timeout: .seconds(10))
            let again = try await client.send(UpstreamRequest(method: "GET", url: server.url("/a")), timeout: .seconds(10))
            #expect(again.status == 200 && server.connections == 2, "retried on a new connection")
            await #expect(throws: TransportError.self) {
                _ = try await client.send(UpstreamRequest(method: "POST", url: server.url("/b"), body: .json([:])), timeout: .seconds(10))
            }
            #expect(server.requests.filter { $0.hasPrefix("POST") }.count == 1, "a POST is never sent twice")
        }
    }

    @Test func anAnswerPastTheDeadlineIsATimeoutAndItsConnectionIsDropped() async throws {
        try await withServer({ _, path in path == "/slow" ? .silent : .respond(status: 200, body: "ok") }) { server, client in
            await #expect(throws: TransportError.timeout) {
                _ = try await client.send(UpstreamRequest(method: "GET", url: server.url("/slow")), timeout: .milliseconds(100))
            }
            _ = try await client.send(UpstreamRequest(method: "GET", url: server.url("/fast")), timeout: .seconds(10))
            #expect(server.connections == 2)
        }
    }

    @Test func anAnswerLargerThanTheLimitIsRefused() async throws {
        try await withServer({ _, _ in .respond(status: 200, body: String(repeating: "x", count: 2_000)) }, maxAnswerBytes: 1_000) { server, client in
            await #expect(throws: TransportError.bodyTooLarge) {
                _ = try await client.send(UpstreamRequest(method: "GET", url: server.url("/")), timeout: .seconds(10))
            }
        }
    }

    @Test func requestsPastTheConnectionLimitWaitTheirTurn() async throws {
        try await withServer({ _, _ in .respond(status: 200, body: "ok") }, maxConnections: 1) { server, client in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 { group.addTask { try await client.send(UpstreamRequest(method: "GET", url: server.url("/")), timeout: .seconds(10)).status } }
                for try await status in group { #expect(status == 200) }
            }
            #expect(server.connections == 1)
        }
    }

    @Test func aRequestWaitingForAConnectionTimesOutAtItsOwnDeadline() async throws {
        try await withServer({ _, path in path == "/slow" ? .silent : .respond(status: 200, body: "ok") }, maxConnections: 1) { server, client in
            let done = Mutex(false)
            let slow = Task {
                defer { done.withLock { $0 = true } }
                return try await client.send(UpstreamRequest(method: "GET", url: server.url("/slow")), timeout: .seconds(60))
            }
            // The one connection is taken by /slow (its request reached the server).
            #expect(await server.read(atLeast: 1, within: .seconds(5)), "the request for /slow did not reach the server")
            await #expect(throws: TransportError.timeout) {
                _ = try await client.send(UpstreamRequest(method: "GET", url: server.url("/fast")), timeout: .milliseconds(100))
            }
            #expect(!done.withLock { $0 } && server.requests.count == 1, "it gave up while still waiting, at its own deadline")
            // A cancelled call gives up like a timeout.
            slow.cancel()
            await #expect(throws: TransportError.timeout) { _ = try await slow.value }
        }
    }

    @Test func aRefusedConnectionOrAnInvalidURLIsUnreachable() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let client = AsyncHTTPClientTransport(group: group)
        // A port nobody listens on: bind one and close it.
        let port = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).flatMap { ch in
            let p = ch.localAddress!.port!
            return ch.close().map { p }
        }.get()
        do {
            _ = try await client.send(UpstreamRequest(method: "GET", url: "http://127.0.0.1:\(port)/"), timeout: .seconds(10))
            Issue.record("no error")
        } catch {
            guard case .unreachable(let why) = error else { Issue.record("\(error)"); return }
            #expect(why.contains("cannot connect to 127.0.0.1:\(port)"), "\(why)")
        }
        await #expect(throws: TransportError.unreachable("invalid upstream URL (not http or https)")) {
            _ = try await client.send(UpstreamRequest(method: "GET", url: "crud/x"), timeout: .seconds(1))
        }
        await client.shutdown()
        try await group.shutdownGracefully()
    }

    @Test func aHeaderThatWouldSplitTheRequestIsRefusedBeforeAnythingIsSent() async throws {
        try await withServer({ _, _ in .respond(status: 200, body: "ok") }) { server, client in
            let value = "refused before sending: a header value has a control character"
            let name = "refused before sending: a header name is not a token"
            let refused: [(header: (String, String), reason: String)] = [
                (("x-request-id", "a\r\nx-injected: 1"), value),
                (("x-request-id", "a\nx-injected: 1"), value),
                (("x-request-id", "a\rb"), value),
                (("x-request-id", "a\u{0}b"), value),
                (("x-request-id", "a\u{1}b"), value),
                (("x-request-id", "a\u{7F}b"), value),
                (("x-injected: 1\r\nx-request-id", "a"), name),
                (("x request id", "a"), name),
                (("x-request-id:", "a"), name),
                (("", "a"), name),
            ]
            for (header, reason) in refused {
                await #expect(throws: TransportError.unreachable(reason)) {
                    _ = try await client.send(UpstreamRequest(method: "GET", url: server.url("/refused"), headers: [header]), timeout: .seconds(10))
                }
            }
            #expect(server.connections == 0 && server.requests.isEmpty, "nothing reached the server: \(server.requests)")
            // The server was listening all along: a clean request reaches it, and only that one.
            let a = try await client.send(UpstreamRequest(method: "GET", url: server.url("/clean"), headers: [("x-request-id", "r1")]), timeout: .seconds(10))
            #expect(a.status == 200 && server.connections == 1 && server.requests.count == 1)
            #expect(server.requests.first?.hasPrefix("GET /clean HTTP/1.1\r\n") == true)
            // And the secret-looking value of a refused header is named nowhere.
            do {
                _ = try await client.send(UpstreamRequest(method: "GET", url: server.url("/"), headers: [("authorization", "Bearer s3cret\r\n")]), timeout: .seconds(10))
            } catch {
                #expect(!"\(error)".contains("s3cret"))
            }
        }
    }

    @Test func httpsIsSpokenWithTheCertificateChecked() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tcb-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                             "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem"]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        #expect(openssl.terminationStatus == 0)
        let cert = try NIOSSLCertificate.fromPEMFile(dir + "/cert.pem")
        let key = try NIOSSLPrivateKey(file: dir + "/key.pem", format: .pem)
        let serverContext = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: cert.map { .certificate($0) }, privateKey: .privateKey(key)))

        var trusting = AsyncHTTPClientTransport.Configuration()
        trusting.tls.trustRoots = .certificates(cert)
        try await withServer({ _, _ in .respond(status: 200, body: "secure") }, tls: serverContext, configuration: trusting) { server, client in
            let a = try await client.send(UpstreamRequest(method: "GET", url: "https://localhost:\(server.port)/"), timeout: .seconds(5))
            #expect(String(decoding: a.body, as: UTF8.self) == "secure")
        }
        // The system's roots do not know this certificate: refused, saying so.
        try await withServer({ _, _ in .respond(status: 200, body: "secure") }, tls: serverContext) { server, client in
            do {
                _ = try await client.send(UpstreamRequest(method: "GET", url: "https://localhost:\(server.port)/"), timeout: .seconds(5))
                Issue.record("an untrusted certificate was accepted")
            } catch {
                guard case .unreachable(let why)? = error as? TransportError else { Issue.record("\(error)"); return }
                #expect(why.contains("TLS: the certificate of localhost:\(server.port) is not trusted"), "\(why)")
            }
            #expect(server.requests.isEmpty)
        }
        // Trusted, but the certificate names localhost, not 127.0.0.1: refused, saying so.
        try await withServer({ _, _ in .respond(status: 200, body: "secure") }, tls: serverContext, configuration: trusting) { server, client in
            do {
                _ = try await client.send(UpstreamRequest(method: "GET", url: "https://127.0.0.1:\(server.port)/"), timeout: .seconds(5))
                Issue.record("a certificate for another host name was accepted")
            } catch {
                guard case .unreachable(let why)? = error as? TransportError else { Issue.record("\(error)"); return }
                #expect(why.contains("TLS: the certificate of 127.0.0.1:\(server.port)"), "\(why)")
            }
            #expect(server.requests.isEmpty)
        }
    }
}

// MARK: a scripted server

enum ScriptedAnswer: Sendable {
    case respond(status: Int, body: String, close: Bool = false)
    case raw(String)
    /// Read the request, answer nothing, close the connection.
    case drop
    /// Read the request, answer nothing, keep the connection.
    case silent
}

/// Answers each request by `script(index on its connection, path)`; records what it read.
final class ScriptedServer: Sendable {
    let port: Int
    private let state = Mutex<(connections: Int, requests: [String])>((0, []))
    /// One element per request read. An AsyncStream has one consumer, and ends when its
    /// consumer is cancelled: `read(atLeast:within:)` is for one call per server.
    private let reads = AsyncStream<Void>.makeStream()
    var connections: Int { state.withLock { $0.connections } }
    var requests: [String] { state.withLock { $0.requests } }
    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    /// True once `n` requests have been read, false if they were not within `timeout`.
    func read(atLeast n: Int, within timeout: Duration) async -> Bool {
        await Self.until({ self.requests.count >= n }, on: reads.stream, within: timeout)
    }

    /// True once `holds()`, checked again at each element of `events`; false if it did not
    /// hold within `timeout` (the deadline races the events: whichever comes first ends it).
    private static func until(_ holds: @escaping @Sendable () -> Bool, on events: AsyncStream<Void>, within timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                if holds() { return true }
                for await _ in events where holds() { return true }
                return false
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    private let closes = AsyncStream<Void>.makeStream()
    private let closedCount = Mutex(0)

    /// True once the client closed `n` connections, false if it did not within `timeout`.
    func closedByClient(atLeast n: Int, within timeout: Duration) async -> Bool {
        await Self.until({ self.closedCount.withLock { $0 } >= n }, on: closes.stream, within: timeout)
    }

    fileprivate func peerClosed() {
        closedCount.withLock { $0 += 1 }
        closes.continuation.yield()
    }

    fileprivate init(port: Int) { self.port = port }
    fileprivate func opened() { state.withLock { $0.connections += 1 } }
    fileprivate func read(_ request: String) {
        state.withLock { $0.requests.append(request) }
        reads.continuation.yield()
    }
}

private final class ScriptedHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let server: ScriptedServer
    let script: @Sendable (Int, String) -> ScriptedAnswer
    var buffer = ""
    var index = 0

    init(server: ScriptedServer, script: @escaping @Sendable (Int, String) -> ScriptedAnswer) {
        self.server = server
        self.script = script
    }

    func channelActive(context: ChannelHandlerContext) {
        server.opened()
        context.fireChannelActive()
    }

    /// The client closed the connection (the server closes only after `.drop` or `close`).
    func channelInactive(context: ChannelHandlerContext) {
        if !closedHere { server.peerClosed() }
        context.fireChannelInactive()
    }
    var closedHere = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        buffer += String(decoding: unwrapInboundIn(data).readableBytesView, as: UTF8.self)
        while let end = buffer.range(of: "\r\n\r\n") {
            let head = buffer[..<end.lowerBound].lowercased()
            let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length: ") }.flatMap { Int($0.dropFirst(16)) } ?? 0
            guard buffer.utf8.count >= buffer.utf8.distance(from: buffer.startIndex, to: end.upperBound) + length else { return }
            let total = buffer.index(end.upperBound, offsetBy: length)
            let request = String(buffer[..<total])
            buffer = String(buffer[total...])
            server.read(request)
            let path = String(request.split(separator: " ").dropFirst().first ?? "/")
            let answer = script(index, path)
            index += 1
            switch answer {
            case .respond(let status, let body, let close):
                let text = "HTTP/1.1 \(status) X\r\ncontent-length: \(body.utf8.count)\r\n\(close ? "connection: close\r\n" : "")\r\n\(body)"
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text)), promise: nil)
                if close { closedHere = true; context.close(promise: nil) }
            case .raw(let text):
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text)), promise: nil)
            case .drop:
                closedHere = true
                context.close(promise: nil)
                return
            case .silent:
                break
            }
        }
    }
}

func withServer(_ script: @escaping @Sendable (Int, String) -> ScriptedAnswer, maxConnections: Int = 16, maxAnswerBytes: Int = 1 << 20,
                tls: NIOSSLContext? = nil, configuration: AsyncHTTPClientTransport.Configuration = .init(),
                _ body: (ScriptedServer, AsyncHTTPClientTransport) async throws -> Void) async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let box = Mutex<ScriptedServer?>(nil)
    let channel = try await ServerBootstrap(group: group)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                let server = box.withLock { $0 }!
                if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                try channel.pipeline.syncOperations.addHandler(ScriptedHandler(server: server, script: script))
            }
        }
        .bind(host: "127.0.0.1", port: 0).get()
    let server = ScriptedServer(port: channel.localAddress!.port!)
    box.withLock { $0 = server }
    var c = configuration
    c.maxConnectionsPerHost = maxConnections
    c.maxAnswerBytes = maxAnswerBytes
    let client = AsyncHTTPClientTransport(configuration: c, group: group)
    do {
        try await body(server, client)
    } catch {
        await client.shutdown()
        try? await channel.close()
        try await group.shutdownGracefully()
        throw error
    }
    await client.shutdown()
    try? await channel.close()
    try await group.shutdownGracefully()
}
