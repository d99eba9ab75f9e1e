;; Running sums of integer luminance for one row of 8-bit pixels (PDQ's hot loop).
;;
;; Luminance x 1000 = cr * R + cg * G + cb * B (299, 587, 114 for colour;
;; 1000, 0, 0 for grey), exact integers. For a row of n pixels it writes, as
;; f64 (exact: the integers stay far below 2^53) the running sum of the
;; running sum:
;;   S2[0..n + 1] S2[m] = S1[0] + ... + S1[m - 1]
;; where S1[0] = 0, S1[x + 1] = S1[x] + luma(x) (S1[m] = S2[m + 1] - S2[m]).
;; The sums are kept in i64, so the loop has no floating-point dependency chain.
;; Memory layout is the caller's: the row's bytes and the S2 array.
(module
  (memory (export "memory") 1)

  ;; Pixels at src, src + step, src + 2 step, ...; G at +goff and B at +boff.
  (func (export "prefixRow")
    (param $src i32) (param $n i32) (param $step i32) (param $goff i32) (param $boff i32)
    (param $cr i32) (param $cg i32) (param $cb i32) (param $s2p i32)
    (local $s1 i64) (local $s2 i64) (local $end i32)
    (f64.store (local.get $s2p) (f64.const 0))
    (local.set $end (i32.add (local.get $src) (i32.mul (local.get $n) (local.get $step))))
    (block $done
      (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
      (loop $next
        (local.set $s2 (i64.add (local.get $s2) (local.get $s1)))
        (local.set $s1 (i64.add (local.get $s1)
          (i64.extend_i32_u
            (i32.add
              (i32.add
                (i32.mul (local.get $cr) (i32.load8_u (local.get $src)))
                (i32.mul (local.get $cg) (i32.load8_u (i32.add (local.get $src) (local.get $goff)))))
              (i32.mul (local.get $cb) (i32.load8_u (i32.add (local.get $src) (local.get $boff))))))))
        (local.set $s2p (i32.add (local.get $s2p) (i32.const 8)))
        (f64.store (local.get $s2p) (f64.convert_i64_s (local.get $s2)))
        (local.set $src (i32.add (local.get $src) (local.get $step)))
        (br_if $next (i32.lt_u (local.get $src) (local.get $end)))))
    (f64.store offset=8 (local.get $s2p) (f64.convert_i64_s (i64.add (local.get $s2) (local.get $s1)))))

  ;; The same over n pixels at src + offsets[x] (i32 byte offsets at $offp): the
  ;; nearest-neighbour columns of the squash512 mode.
  (func (export "prefixSampled")
    (param $src i32) (param $offp i32) (param $n i32) (param $goff i32) (param $boff i32)
    (param $cr i32) (param $cg i32) (param $cb i32) (param $s2p i32)
    (local $s1 i64) (local $s2 i64) (local $end i32) (local $p i32)
    (f64.store (local.get $s2p) (f64.const 0))
    (local.set $end (i32.add (local.get $offp) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (br_if $done (i32.ge_u (local.get $offp) (local.get $end)))
      (loop $next
        (local.set $p (i32.add (local.get $src) (i32.load (local.get $offp))))
        (local.set $s2 (i64.add (local.get $s2) (local.get $s1)))
        (local.set $s1 (i64.add (local.get $s1)
          (i64.extend_i32_u
            (i32.add
              (i32.add
                (i32.mul (local.get $cr) (i32.load8_u (local.get $p)))
                (i32.mul (local.get $cg) (i32.load8_u (i32.add (local.get $p) (local.get $goff)))))
              (i32.mul (local.get $cb) (i32.load8_u (i32.add (local.get $p) (local.get $boff))))))))
        (local.set $s2p (i32.add (local.get $s2p) (i32.const 8)))
        (f64.store (local.get $s2p) (f64.convert_i64_s (local.get $s2)))
        (local.set $offp (i32.add (local.get $offp) (i32.const 4)))
        (br_if $next (i32.lt_u (local.get $offp) (local.get $end)))))
    (f64.store offset=8 (local.get $s2p) (f64.convert_i64_s (i64.add (local.get $s2) (local.get $s1)))))
)
