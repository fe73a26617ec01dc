internal import CAgentSystem

/// The agent holds one descriptor per connection: it raises its soft open-file limit (often
/// 1024) towards the hard one, so the per-uid connection caps, not the fd table, are what a
/// flood of connections runs into.
enum OpenFileLimit {
    /// Returns the soft limit now in force, or nil when it could not be read.
    @discardableResult
    static func raise(to wanted: Int = 65_536) -> Int? {
        let limit = venice_raise_open_files(wanted)
        return limit < 0 ? nil : limit
    }
}
