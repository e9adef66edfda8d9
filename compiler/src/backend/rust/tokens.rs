//! Literal helpers: exact, deterministic token forms of numbers and arrays.

use proc_macro2::{Group, Literal, TokenStream, TokenTree};
use quote::quote;

/// An unsuffixed integer literal.
pub fn usize_lit(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

/// An `f32` expression that round-trips exactly (infinities and NaN by name).
pub fn f32_lit(v: f32) -> TokenStream {
    if v.is_nan() {
        quote!(f32::NAN)
    } else if v == f32::INFINITY {
        quote!(f32::INFINITY)
    } else if v == f32::NEG_INFINITY {
        quote!(f32::NEG_INFINITY)
    } else if v.is_sign_negative() {
        let l = Literal::f32_suffixed(-v);
        quote!(-#l)
    } else {
        let l = Literal::f32_suffixed(v);
        quote!(#l)
    }
}

/// An `i32` expression.
pub fn i32_lit(v: i32) -> TokenStream {
    let l = Literal::i32_unsuffixed(v.unsigned_abs() as i32);
    if v < 0 {
        if v == i32::MIN {
            return quote!(i32::MIN);
        }
        quote!(-#l)
    } else {
        quote!(#l)
    }
}

/// `[a, b, c, 0, 0, 0]`: a fixed-size array padded with zeros to `n` entries.
pub fn usize_array(v: &[usize], n: usize) -> TokenStream {
    let items = (0..n).map(|i| usize_lit(v.get(i).copied().unwrap_or(0)));
    quote!([#(#items),*])
}

/// Like [`usize_array`] for signed strides.
pub fn isize_array(v: &[isize], n: usize) -> TokenStream {
    let items = (0..n).map(|i| {
        let x = v.get(i).copied().unwrap_or(0);
        let l = Literal::isize_unsuffixed(x.abs());
        if x < 0 {
            quote!(-#l)
        } else {
            quote!(#l)
        }
    });
    quote!([#(#items),*])
}

/// `[a, b, c]` of f32 expressions.
pub fn f32_array(v: &[f32]) -> TokenStream {
    let items = v.iter().map(|&x| f32_lit(x));
    quote!([#(#items),*])
}

/// Drops integer type suffixes (`16usize` → `16`) everywhere in a token stream, for
/// readable output; the types come from context. Other literals are untouched.
pub fn unsuffixed(ts: TokenStream) -> TokenStream {
    ts.into_iter()
        .map(|tt| match tt {
            TokenTree::Group(g) => {
                let mut n = Group::new(g.delimiter(), unsuffixed(g.stream()));
                n.set_span(g.span());
                TokenTree::Group(n)
            }
            TokenTree::Literal(l) => {
                let s = l.to_string();
                for suffix in ["usize", "isize", "u64", "u32", "i64", "i32"] {
                    if let Some(num) = s.strip_suffix(suffix) {
                        if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) {
                            if let Ok(v) = num.parse::<u64>() {
                                return TokenTree::Literal(Literal::u64_unsuffixed(v));
                            }
                        }
                    }
                }
                TokenTree::Literal(l)
            }
            other => other,
        })
        .collect()
}
