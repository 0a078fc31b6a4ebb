//! The generated protobuf and tonic code, and the descriptor set that
//! reflection serves and Envoy's transcoder reads.

#![allow(missing_docs, unreachable_pub, clippy::all)]

tonic::include_proto!("xentree.v1");

/// The encoded `FileDescriptorSet` of every service, imports included.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/xentree_descriptor.bin"));
