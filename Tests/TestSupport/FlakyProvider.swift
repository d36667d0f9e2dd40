import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A provider's HTTP API on 127.0.0.1 that fails on purpose: each request is answered as
/// `decide` says (a status, no answer until the client gives up, or a dropped connection), and
/// every request is kept for the test to read. Plain sockets and a thread per connection, so
/// that it can misbehave in ways a proper server would not.
public final class FlakyProvider: Sendable {
    /// How to answer one request.
    public enum Action: Sendable {
        case answer(status: Int, headers: [(String, String)] = [], body: String = "")
        /// Say nothing and keep the connection open until the client closes it (its timeout).
        case hang
        /// Close the connection without a word.
        case drop
    }

    /// One request as received.
    public struct Request: Sendable {
        public let method: String
        public let path: String
        /// Header names in lower case.
        public let headers: [String: String]
        public let body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }

        /// The form-encoded body's fields.
        public var form: [String: String] {
            var fields: [String: String] = [:]
            for pair in text.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                func decoded(_ part: Substring) -> String {
                    String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
                }
                fields[decoded(parts[0])] = parts.count > 1 ? decoded(parts[1]) : ""
            }
            return fields
        }
    }

    /// A request and how it was answered.
    public struct Exchange: Sendable {
        public let request: Request
        /// The status answered; nil when the request was left hanging or dropped.
        public let status: Int?
    }

    public let port: Int
    private let listener: Int32
    private let decide: @Sendable (Request) -> Action
    private let log = Mutex<[Exchange]>([])

    /// Listens on a free port of 127.0.0.1 and answers every request as `decide` says.
    public init(decide: @escaping @Sendable (Request) -> Action) throws {
        guard let socket = LoopbackSocket(listening: true) else {
            throw POSIXError(.EADDRNOTAVAIL)
        }
        // A deeper backlog than the socket helper's: dispatchers open many connections at once.
        _ = listen(socket.descriptor, 512)
        listener = socket.descriptor
        port = socket.port
        self.decide = decide
        let listener = listener
        Thread.detachNewThread { [self] in
            while true {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }
                Thread.detachNewThread { self.serve(connection) }
            }
        }
    }

    /// Stops accepting; connections still open end as their clients close them.
    public func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Every request so far with how it was answered, in the order they were decided.
    public var exchanges: [Exchange] { log.withLock { $0 } }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        var buffer: [UInt8] = []
        while let request = Self.readRequest(connection, &buffer) {
            let action = decide(request)
            switch action {
            case .answer(let status, let headers, let body):
                log.withLock { $0.append(Exchange(request: request, status: status)) }
                var head = "HTTP/1.1 \(status) Status\r\nContent-Length: \(body.utf8.count)\r\n"
                for (name, value) in headers { head += "\(name): \(value)\r\n" }
                let bytes = Array((head + "\r\n" + body).utf8)
                guard Self.writeAll(connection, bytes) else { return }
            case .hang:
                log.withLock { $0.append(Exchange(request: request, status: nil)) }
                var scratch = [UInt8](repeating: 0, count: 4_096)
                while read(connection, &scratch, scratch.count) > 0 {}
                return
            case .drop:
                log.withLock { $0.append(Exchange(request: request, status: nil)) }
                return
            }
        }
    }

    /// The next request on the connection, nil when it closes.
    private static func readRequest(_ connection: Int32, _ buffer: inout [UInt8]) -> Request? {
        let separator: [UInt8] = [13, 10, 13, 10]
        var scratch = [UInt8](repeating: 0, count: 65_536)
        func fill() -> Bool {
            let count = read(connection, &scratch, scratch.count)
            guard count > 0 else { return false }
            buffer += scratch[0..<count]
            return true
        }
        var headEnd: Int?
        while headEnd == nil {
            if buffer.count >= 4 {
                headEnd = (0...(buffer.count - 4)).first { buffer[$0..<$0 + 4].elementsEqual(separator) }
            }
            if headEnd == nil, !fill() { return nil }
        }
        // Safe: the loop ends only with headEnd set.
        let end = headEnd!
        let head = String(decoding: buffer[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = head.first?.split(separator: " ") ?? []
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count < end + 4 + length {
            if !fill() { return nil }
        }
        let body = Array(buffer[(end + 4)..<(end + 4 + length)])
        buffer.removeFirst(end + 4 + length)
        return Request(
            method: requestLine.first.map(String.init) ?? "",
            path: requestLine.dropFirst().first.map(String.init) ?? "",
            headers: headers, body: body)
    }

    private static func writeAll(_ connection: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            // MSG_NOSIGNAL: a client that hung up must not stop the test process with SIGPIPE.
            let written = bytes[offset...].withUnsafeBytes {
                send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }
}
