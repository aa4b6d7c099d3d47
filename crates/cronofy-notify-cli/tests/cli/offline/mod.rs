//! The commands that need no server of their own: `verify`, `sign`, `transcript`, `sample`, and
//! `send` where it fails before a server answers; and what every command shares.

mod send;
mod streams;
mod transcript;
mod verify;
