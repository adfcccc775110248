//! Rate limiting: a tower layer over a GCRA limiter, in memory or shared through Redis.
