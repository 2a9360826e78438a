import CFastCGI
import Glibc
import HTTPTypes

/// One FastCGI connection as libfcgi holds it: an `FCGX_Request`, made on the listening
/// socket. libfcgi does every bit of the protocol: `FCGX_Accept_r` accepts a connection (or,
/// on a kept one, waits for the next request on it), reads BEGIN_REQUEST and the params and
/// answers management records; `FCGX_GetStr` reads the body; `FCGX_PutStr` and
/// `FCGX_Finish_r` write the answer and END_REQUEST, and close the connection unless the web
/// server asked to keep it.
///
/// Its calls block. They run on the responder loop's I/O threads only, one thread at a time
/// per connection: the loop's registry hands a connection from one thread to the next under
/// its lock (hence `@unchecked Sendable`).
final class LibFCGIConnection: @unchecked Sendable {
    let id: UInt64
    private let request: UnsafeMutablePointer<FCGX_Request>
    /// The descriptor as last registered with epoll (see `ResponderLoop.park`).
    var registeredDescriptor: Int32 = -1
    /// The request being answered, for the shutdown report; under the loop's lock.
    var current: HTTPRequest?

    init(id: UInt64, listenFD: Int32) {
        self.id = id
        request = .allocate(capacity: 1)
        FCGX_InitRequest(request, listenFD, 0)
    }

    deinit {
        FCGX_Free(request, 1)
        request.deallocate()
    }

    /// The connection's descriptor; -1 when it has none (closed, or never accepted).
    var descriptor: Int32 { tcb_fcgx_connection_fd(request) }

    /// Blocking: the next request, on the kept connection if there is one, else on a
    /// connection accepted from the listening socket. 0, or a negative error (`-EAGAIN`: there
    /// was nothing to accept).
    func accept() -> Int32 { FCGX_Accept_r(request) }

    /// Closes the connection, unanswered if a request is open.
    func close() { FCGX_Free(request, 1) }

    /// Blocking: writes the CGI response (headers and body), then ends the request; the
    /// connection stays open when the web server asked to keep it and nothing failed (a peer
    /// that did not take the answer leaves it closed).
    func finish(with cgi: [UInt8]) {
        _ = cgi.withUnsafeBytes { raw in
            FCGX_PutStr(raw.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(raw.count), request.pointee.out)
        }
        FCGX_Finish_r(request)
    }

    /// What reading a request brought.
    enum Read {
        case request(FastCGIRequest)
        /// The connection failed mid-request (the peer left, or the I/O deadline cut it): no
        /// answer can be sent; close it.
        case broken
    }

    /// Blocking: the params and the whole body of the request `accept()` began.
    func read(limits: ResponderLoop.Limits, scratch: UnsafeMutableRawBufferPointer) -> Read {
        var params: [(name: String, value: String)] = []
        params.reserveCapacity(24)
        var variables: [String: String] = [:]
        var role = "RESPONDER"
        var entry = request.pointee.envp
        while let pointer = entry?.pointee {
            let length = strlen(pointer)
            let bytes = UnsafeRawBufferPointer(start: pointer, count: length)
            entry = entry.map { $0 + 1 }
            guard let equals = bytes.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let name = UnsafeRawBufferPointer(rebasing: bytes[..<equals])
            let value = { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(equals + 1)...]), as: UTF8.self) }
            if FastCGIRequestMapper.isMapped(name) {
                params.append((String(decoding: name, as: UTF8.self), value()))
            } else if name.elementsEqual("FCGI_ROLE".utf8) {
                role = value()
            } else if let passed = limits.passedParams.first(where: { $0.elementsEqual(name) }) {
                variables[String(decoding: passed, as: UTF8.self)] = value()
            }
        }
        let head: HTTPRequest
        do {
            head = try FastCGIRequestMapper.makeHead(params: params)
        } catch {
            return drained(scratch: scratch) ? .request(Self.refused(nil, variables, .malformedRequest("\(error)"))) : .broken
        }
        // libfcgi cannot answer FCGI_UNKNOWN_ROLE: an authorizer or filter gets an error status
        // (an authorizer's non-200 grants nothing).
        guard role == "RESPONDER" else {
            return drained(scratch: scratch)
                ? .request(Self.refused(head, variables, .malformedRequest("the FastCGI role \(role) is not served, only RESPONDER")))
                : .broken
        }
        let limit = limits.bodyLimit(head)
        let declared: Int?
        if let text = head.headerFields[.contentLength] {
            guard let n = Int(text), n >= 0 else {
                return drained(scratch: scratch) ? .request(Self.refused(head, variables, .malformedRequest("CONTENT_LENGTH \(text.prefix(32)) is not a length"))) : .broken
            }
            declared = n
        } else {
            declared = nil
        }
        if let declared, declared > limit {
            return drained(scratch: scratch) ? .request(Self.refused(head, variables, .bodyTooLarge(limit: limit))) : .broken
        }
        // The body, to its end: a kept connection must have nothing of this request left in it.
        let stream = request.pointee.in
        var body: [UInt8] = []
        if let declared, declared > 0 {
            body = [UInt8](unsafeUninitializedCapacity: declared) { buffer, count in
                count = Int(FCGX_GetStr(UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self), Int32(declared), stream))
            }
        }
        var extra = 0
        while true {
            let n = Int(FCGX_GetStr(scratch.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(scratch.count), stream))
            if declared == nil, body.count + n <= limit {
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<n]))
            } else {
                extra += n
            }
            if n < scratch.count { break }
        }
        guard FCGX_GetError(stream) == 0, FCGX_HasSeenEOF(stream) != 0 else { return .broken }
        if let declared {
            // FastCGI 1.0, 6.2: a body shorter than CONTENT_LENGTH is an aborted request.
            if body.count < declared {
                return .request(Self.refused(head, variables, .malformedRequest("the body ended after \(body.count) of its \(declared) bytes (CONTENT_LENGTH)")))
            }
            if extra > 0 {
                return .request(Self.refused(head, variables, .malformedRequest("the body is longer than its \(declared) bytes (CONTENT_LENGTH)")))
            }
        } else if extra > 0 {
            return .request(Self.refused(head, variables, .bodyTooLarge(limit: limit)))
        }
        return .request(FastCGIRequest(head: head, body: body, serverVariables: variables, refusal: nil))
    }

    private static func refused(_ head: HTTPRequest?, _ variables: [String: String], _ failure: TransportFailure) -> FastCGIRequest {
        FastCGIRequest(head: head, body: [], serverVariables: variables, refusal: failure)
    }

    /// Reads and drops the rest of the body (a refused request is answered after its body, so a
    /// kept connection stays in step); false when the connection failed.
    private func drained(scratch: UnsafeMutableRawBufferPointer) -> Bool {
        let stream = request.pointee.in
        while FCGX_GetStr(scratch.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(scratch.count), stream) == Int32(scratch.count) {}
        return FCGX_GetError(stream) == 0 && FCGX_HasSeenEOF(stream) != 0
    }
}
