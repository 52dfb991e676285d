import CCurl
import Foundation

/// One HTTP response: status, the headers of the *last* response received (lower-cased names) and its URL.
struct HTTPResponse {
    var status: Int
    var headers: [(String, String)]
    var url: String
    func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.last { $0.0 == n }?.1
    }
}

/// A failure below HTTP: connection refused/reset, timeout, truncated body, or a body-sink error.
enum TransportFailure: Error {
    case connection(String)
    case timeout(String)
    case sink(Error)
}

/// A blocking request on a libcurl easy handle. One handle per call keeps threads independent.
struct CurlRequest {
    var method: String = "GET"
    var url: String
    var headers: [String] = []
    var followRedirects = false
    /// Total time limit (HEAD/API calls).
    var totalTimeout: Double?
    /// Abort when fewer than 1 byte/s arrives for this long (download read timeout).
    var stallTimeout: Double?
    /// Let libcurl advertise and decode gzip/deflate.
    var acceptCompressed = false
    /// Request body (sent as POST unless `method` says otherwise).
    var postBody: String?

    private static let globalInit: Bool = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK }()

    /// Performs the request; `body` receives the status and the bytes of the final response body (not of redirects).
    func perform(body: ((Int, UnsafeRawBufferPointer) throws -> Void)? = nil) throws(TransportFailure) -> HTTPResponse {
        _ = Self.globalInit
        guard let h = curl_easy_init() else { throw .connection("curl_easy_init failed") }
        defer { curl_easy_cleanup(h) }
        let box = CallbackBox(body: body)
        let unmanaged = Unmanaged.passRetained(box)
        defer { unmanaged.release() }
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for line in headers { list = curl_slist_append(list, line) }
        defer { curl_slist_free_all(list) }

        _ = sftrun_curl_setopt_string(h, CURLOPT_URL, url)
        _ = sftrun_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        _ = sftrun_curl_setopt_long(h, CURLOPT_FOLLOWLOCATION, followRedirects ? 1 : 0)
        _ = sftrun_curl_setopt_long(h, CURLOPT_MAXREDIRS, 10)
        // Never resend credentials to another host (libcurl default, stated to make the promise explicit).
        _ = sftrun_curl_setopt_long(h, CURLOPT_UNRESTRICTED_AUTH, 0)
        _ = sftrun_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, 10_000)
        if let t = totalTimeout { _ = sftrun_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, Int(t * 1000)) }
        if let s = stallTimeout {
            _ = sftrun_curl_setopt_long(h, CURLOPT_LOW_SPEED_LIMIT, 1)
            _ = sftrun_curl_setopt_long(h, CURLOPT_LOW_SPEED_TIME, max(1, Int(s.rounded(.up))))
        }
        if let postBody {
            _ = sftrun_curl_setopt_long(h, CURLOPT_POSTFIELDSIZE, postBody.utf8.count)
            _ = sftrun_curl_setopt_string(h, CURLOPT_COPYPOSTFIELDS, postBody)
        }
        if method == "HEAD" { _ = sftrun_curl_setopt_long(h, CURLOPT_NOBODY, 1) }
        else if method != "GET" && !(method == "POST" && postBody != nil) { _ = sftrun_curl_setopt_string(h, CURLOPT_CUSTOMREQUEST, method) }
        if acceptCompressed { _ = sftrun_curl_setopt_string(h, CURLOPT_ACCEPT_ENCODING, "") }
        _ = sftrun_curl_setopt_slist(h, CURLOPT_HTTPHEADER, list)
        let ctx = unmanaged.toOpaque()
        _ = sftrun_curl_setopt_callback(h, CURLOPT_HEADERFUNCTION, curlHeaderCallback)
        _ = sftrun_curl_setopt_pointer(h, CURLOPT_HEADERDATA, ctx)
        _ = sftrun_curl_setopt_callback(h, CURLOPT_WRITEFUNCTION, curlWriteCallback)
        _ = sftrun_curl_setopt_pointer(h, CURLOPT_WRITEDATA, ctx)

        let code = curl_easy_perform(h)
        if let e = box.error { throw .sink(e) }
        var status = 0
        _ = sftrun_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        var effective: UnsafeMutablePointer<CChar>? = nil
        _ = sftrun_curl_getinfo_string(h, CURLINFO_EFFECTIVE_URL, &effective)
        if code != CURLE_OK {
            let msg = String(cString: curl_easy_strerror(code))
            if code == CURLE_OPERATION_TIMEDOUT { throw .timeout(msg) }
            throw .connection(msg)
        }
        return HTTPResponse(status: status, headers: box.headers, url: effective.map { String(cString: $0) } ?? url)
    }
}

/// State shared with the C callbacks through an opaque pointer.
private final class CallbackBox {
    var headers: [(String, String)] = []
    var status = 0
    var body: ((Int, UnsafeRawBufferPointer) throws -> Void)?
    var error: Error?
    init(body: ((Int, UnsafeRawBufferPointer) throws -> Void)?) { self.body = body }
}

private let curlHeaderCallback: sftrun_curl_data_callback = { ptr, size, count, ctx in
    let n = size * count
    guard let ptr, let ctx else { return n }
    let box = Unmanaged<CallbackBox>.fromOpaque(ctx).takeUnretainedValue()
    let line = String(decoding: UnsafeRawBufferPointer(start: ptr, count: n), as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines)
    if line.hasPrefix("HTTP/") {
        // A new response starts (after a redirect or a 100-continue): keep only the last one's headers.
        box.headers = []
        let parts = line.split(separator: " ")
        box.status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
    } else if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        box.headers.append((name, value))
    }
    return n
}

private let curlWriteCallback: sftrun_curl_data_callback = { ptr, size, count, ctx in
    let n = size * count
    guard let ptr, let ctx else { return n }
    let box = Unmanaged<CallbackBox>.fromOpaque(ctx).takeUnretainedValue()
    // Redirect bodies are not for the sink: libcurl only writes the final body when following, and when not
    // following a 3xx we ignore it.
    if (300..<400).contains(box.status) { return n }
    guard let body = box.body else { return n }
    do { try body(box.status, UnsafeRawBufferPointer(start: ptr, count: n)) } catch { box.error = error; return 0 }
    return n
}
