//! Who a process is in the job queue and in the work folder: `{host}/{pid}-{tag}/`, unique per process (the random
//! tag tells apart two processes that got the same pid), so processes on one host or many never take each other's
//! leases or work folders. The pid lets a start-up on the same host tell that a previous owner is dead.

use std::path::{Path, PathBuf};

/// One process's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub host: String,
    pub pid: u32,
    pub tag: String,
}

impl Node {
    /// This process, on `host`, with a fresh random tag.
    pub fn this_process(host: &str) -> Node {
        let tag = flick_domain::VideoId::new().to_string()[..8].to_owned();
        Node { host: host.to_owned(), pid: std::process::id(), tag }
    }

    /// The prefix of this process's worker names (`{host}/{pid}-{tag}/`); workers are `{prefix}w{N}`.
    pub fn name(&self) -> String {
        format!("{}/{}/", self.host, self.folder_name())
    }

    /// `{pid}-{tag}`: this process's folder under `work/{host}/`.
    pub fn folder_name(&self) -> String {
        format!("{}-{}", self.pid, self.tag)
    }

    /// This process's scratch folder: `{work_root}/{host}/{pid}-{tag}`.
    pub fn work_dir(&self, work_root: &Path) -> PathBuf {
        work_root.join(&self.host).join(self.folder_name())
    }

    /// The node a worker name (`{host}/{pid}-{tag}/w{N}`) or folder belongs to, if it is of this form.
    pub fn parse(owner: &str) -> Option<Node> {
        let (host, rest) = owner.split_once('/')?;
        let folder = rest.split('/').next()?;
        let mut n = Node::parse_folder(host, folder)?;
        n.host = host.to_owned();
        Some(n)
    }

    /// The node of a `{pid}-{tag}` folder under `work/{host}/`.
    pub fn parse_folder(host: &str, folder: &str) -> Option<Node> {
        let (pid, tag) = folder.split_once('-')?;
        let pid = pid.parse().ok()?;
        let valid_tag = !tag.is_empty() && tag.bytes().all(|b| b.is_ascii_alphanumeric());
        (!host.is_empty() && valid_tag).then(|| Node { host: host.to_owned(), pid, tag: tag.to_owned() })
    }

    /// True when this node ran on `here` (this host) and its process no longer exists. A node of another host is
    /// never known dead here: its leases expire on their own and are re-claimed.
    pub fn is_dead_on(&self, here: &Node) -> bool {
        self.host == here.host && *self != *here && !Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let n = Node::this_process("box-1.example");
        assert_eq!(Node::parse(&format!("{}w3", n.name())), Some(n.clone()));
        assert_eq!(
            n.work_dir(Path::new("/d/work")),
            PathBuf::from(format!("/d/work/box-1.example/{}", n.folder_name()))
        );
        assert_eq!(Node::parse("box/serve/w0"), None);
        assert_eq!(Node::parse("nothing"), None);
        assert!(!n.is_dead_on(&n), "a process is not dead to itself");
        let dead = Node { pid: u32::MAX - 1, ..n.clone() };
        assert!(dead.is_dead_on(&n));
        let elsewhere = Node { host: "other".into(), ..dead.clone() };
        assert!(!elsewhere.is_dead_on(&n));
        let alive_parent = Node { pid: 1, ..n.clone() };
        assert!(!alive_parent.is_dead_on(&n));
    }
}
