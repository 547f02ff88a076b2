import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal HTTP server on 127.0.0.1 that answers every request with one fixed response, so the
/// download path can be tested without the internet.
final class LocalHTTPServer: @unchecked Sendable {
    /// The port the server listens on (chosen by the system).
    let port: Int
    private let listener: Int32
    private let response: [UInt8]

    init(status: Int, body: [UInt8]) throws {
        #if os(Linux)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && listen(descriptor, 8) == 0
                    && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard bound else {
            close(descriptor)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        listener = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
        let reason = status == 200 ? "OK" : "Error"
        response = Array("HTTP/1.1 \(status) \(reason)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    /// The URL of a file of the given name on this server.
    func url(path: String) -> URL { URL(string: "http://127.0.0.1:\(port)/\(path)")! }

    /// Stops accepting connections.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            // Read the request head; its contents do not matter.
            var request: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !request.suffix(4).elementsEqual("\r\n\r\n".utf8) {
                let received = read(connection, &buffer, buffer.count)
                if received <= 0 { break }
                request += buffer[0 ..< received]
            }
            var sent = 0
            while sent < response.count {
                let written = response[sent...].withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
                if written <= 0 { break }
                sent += written
            }
            close(connection)
        }
    }
}
