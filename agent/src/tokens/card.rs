//! Cards. (being written)
