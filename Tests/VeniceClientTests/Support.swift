import NIOHTTP1

enum HTTPHeadersBuilder {
    static func make(_ pairs: [(String, String)]) -> HTTPHeaders {
        var h = HTTPHeaders()
        for (n, v) in pairs { h.add(name: n, value: v) }
        return h
    }
}
