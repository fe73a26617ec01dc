/// Maps a parsed TOML document onto `ConfigFile`. A value of the wrong type is an error naming its
/// key path and line ("config.toml:4:1: payments.daily_cap_usd must be a number, not a string");
/// keys the agent does not know are collected (at every level) for `ConfigFile.parse` to report.
struct SettingsReader {
    let file: String
    private(set) var unknown: [(name: String, position: TOMLPosition)] = []

    init(file: String) { self.file = file }

    mutating func configFile(_ root: TOMLTable) throws(ConfigFile.Failure) -> ConfigFile {
        let top = Section(table: root, path: [], position: TOMLPosition(line: 1, column: 1), file: file)
        note(top, known: ConfigFile.keys)
        var config = ConfigFile()
        config.keystore = try top.string("keystore")
        config.socket = try top.string("socket")
        config.listen = try top.string("listen")
        config.upstream = try top.string("upstream")
        config.stateDir = try top.string("state_dir")
        config.lifetime = try top.string("lifetime")
        config.maxInFlight = try top.integer("max_in_flight")
        config.maxRequestBodyMB = try top.integer("max_request_body_mb")
        config.allowedUIDs = try top.integers("allowed_uids")
        if let section = try top.table("payments") {
            note(section, known: ConfigFile.Payments.keys)
            config.payments = ConfigFile.Payments(
                topupCapUSD: try section.amount("topup_cap_usd"), dailyCapUSD: try section.amount("daily_cap_usd"),
                autoTopup: try section.bool("auto_topup"), autoTopupUSD: try section.amount("auto_topup_usd"))
        }
        if let section = try top.table("default") { config.default = try policy(section) }
        if let section = try top.table("other_uids") { config.otherUIDs = try policy(section) }
        if let sections = try top.tables("binding") {
            var bindings: [ConfigFile.Policy] = []
            for section in sections { bindings.append(try policy(section)) }
            config.binding = bindings
        }
        return config
    }

    private mutating func policy(_ section: Section) throws(ConfigFile.Failure) -> ConfigFile.Policy {
        note(section, known: ConfigFile.Policy.keys)
        return ConfigFile.Policy(
            name: try section.string("name"), executable: try section.string("executable"), unit: try section.string("unit"),
            routes: try section.strings("routes"), maxRequestUSD: try section.amount("max_request_usd"),
            dailyUSD: try section.amount("daily_usd"), admin: try section.bool("admin"), models: try section.strings("models"),
            maxParallel: try section.integer("max_parallel"), requestsPerMinute: try section.integer("requests_per_minute"),
            monthlyUSD: try section.amount("monthly_usd"), softLimit: try section.amount("soft_limit"))
    }

    private mutating func note(_ section: Section, known: Set<String>) {
        for entry in section.table.entries where !known.contains(entry.key) {
            unknown.append((TOMLTable.spell(path: section.path + [entry.key]), entry.position))
        }
    }
}

/// One table of the document, with its key path for messages.
private struct Section {
    let table: TOMLTable
    let path: [String]
    /// Where the table was written (its header, or the key of the array that holds it).
    let position: TOMLPosition
    let file: String

    private func failure(_ entry: TOMLTable.Entry, _ expected: String, _ detail: String? = nil) -> ConfigFile.Failure {
        let name = TOMLTable.spell(path: path + [entry.key])
        return ConfigFile.Failure(description: "\(file):\(entry.position): \(name) must be \(expected), "
                                  + (detail ?? "not \(entry.value.typeName)"))
    }

    func string(_ key: String) throws(ConfigFile.Failure) -> String? {
        guard let entry = table.entry(key) else { return nil }
        guard case .string(let value) = entry.value else { throw failure(entry, "a string") }
        return value
    }

    func bool(_ key: String) throws(ConfigFile.Failure) -> Bool? {
        guard let entry = table.entry(key) else { return nil }
        guard case .boolean(let value) = entry.value else { throw failure(entry, "true or false") }
        return value
    }

    func integer(_ key: String) throws(ConfigFile.Failure) -> Int? {
        guard let entry = table.entry(key) else { return nil }
        guard case .integer(let value) = entry.value else { throw failure(entry, "an integer") }
        guard let int = Int(exactly: value) else { throw failure(entry, "an integer", "not \(value)") }
        return int
    }

    /// A USD amount written either as `10` or `10.5`. Non-finite floats pass here; `ConfigFile.micro` refuses them.
    func amount(_ key: String) throws(ConfigFile.Failure) -> Double? {
        guard let entry = table.entry(key) else { return nil }
        switch entry.value {
        case .integer(let value): return Double(value)
        case .float(let value): return value
        default: throw failure(entry, "a number (like 10 or 2.50)")
        }
    }

    func strings(_ key: String) throws(ConfigFile.Failure) -> [String]? {
        guard let entry = table.entry(key) else { return nil }
        guard case .array(let items) = entry.value else { throw failure(entry, "an array of strings") }
        var strings: [String] = []
        for (number, item) in items.enumerated() {
            guard case .string(let value) = item else {
                throw failure(entry, "an array of strings", "but item \(number + 1) is \(item.typeName)")
            }
            strings.append(value)
        }
        return strings
    }

    func integers(_ key: String) throws(ConfigFile.Failure) -> [Int]? {
        guard let entry = table.entry(key) else { return nil }
        guard case .array(let items) = entry.value else { throw failure(entry, "an array of integers") }
        var integers: [Int] = []
        for (number, item) in items.enumerated() {
            guard case .integer(let value) = item, let int = Int(exactly: value) else {
                throw failure(entry, "an array of integers", "but item \(number + 1) is \(item.typeName)")
            }
            integers.append(int)
        }
        return integers
    }

    /// `[key]` or `key = { … }`.
    func table(_ key: String) throws(ConfigFile.Failure) -> Section? {
        guard let entry = table.entry(key) else { return nil }
        guard case .table(let value) = entry.value else { throw failure(entry, "a table ([\(TOMLTable.spell(path: path + [key]))])") }
        return Section(table: value, path: path + [key], position: entry.position, file: file)
    }

    /// `[[key]]` sections, or `key = [{ … }, …]`.
    func tables(_ key: String) throws(ConfigFile.Failure) -> [Section]? {
        guard let entry = table.entry(key) else { return nil }
        let header = "[[\(TOMLTable.spell(path: path + [key]))]]"
        guard case .array(let items) = entry.value else { throw failure(entry, "an array of tables (\(header) sections)") }
        var sections: [Section] = []
        for (number, item) in items.enumerated() {
            guard case .table(let value) = item else {
                throw failure(entry, "an array of tables (\(header) sections)", "but item \(number + 1) is \(item.typeName)")
            }
            sections.append(Section(table: value, path: path + [key], position: entry.position, file: file))
        }
        return sections
    }
}
