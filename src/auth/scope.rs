//! Scopes: what a credential allows.

use std::fmt;

/// One permission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// XP, streak, quest and pulse reads.
    XpRead,
    /// Claiming quests and buying freezes.
    QuestsWrite,
    /// Learning-time analytics (it reads session data).
    ConversationsRead,
    /// Ingesting activity (internal).
    EventsWrite,
    /// Upserting users, granting boosters and tokens (internal).
    UsersWrite,
}

impl Scope {
    const ALL: [Scope; 5] =
        [Scope::XpRead, Scope::QuestsWrite, Scope::ConversationsRead, Scope::EventsWrite, Scope::UsersWrite];

    /// Returns the scope's name as written in tokens and keys.
    pub fn name(self) -> &'static str {
        match self {
            Scope::XpRead => "xp:read",
            Scope::QuestsWrite => "quests:write",
            Scope::ConversationsRead => "conversations:read",
            Scope::EventsWrite => "events:write",
            Scope::UsersWrite => "users:write",
        }
    }

    /// Parses a scope name.
    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.name() == name)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of scopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Scopes(u8);

impl Scopes {
    /// What a user token without a `scope` claim may do: every user scope.
    pub const USER_DEFAULT: Scopes = Scopes(
        (1 << Scope::XpRead as u8) | (1 << Scope::QuestsWrite as u8) | (1 << Scope::ConversationsRead as u8),
    );

    /// Parses scope names, refusing unknown ones.
    pub fn parse_list<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Scopes, String> {
        let mut scopes = Scopes::default();
        for name in names {
            let scope = Scope::parse(name).ok_or_else(|| format!("unknown scope {name:?}"))?;
            scopes.0 |= scope.bit();
        }
        Ok(scopes)
    }

    /// Tells whether `scope` is in the set.
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Returns the names in the set.
    pub fn names(self) -> Vec<&'static str> {
        Scope::ALL.into_iter().filter(|scope| self.contains(*scope)).map(Scope::name).collect()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.names().join(","))
    }
}
