//! SSTables: immutable sorted files of data blocks, an index block, a bloom filter and a footer.
