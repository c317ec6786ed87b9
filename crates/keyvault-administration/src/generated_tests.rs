//! Tests of the generated code against recorded service traffic.
