/// Expression nodes of a parsed template; each carries its source line for error messages.
indirect enum Expr {
    case literal(JValue)
    case name(String, Int)
    case list([Expr])
    case tuple([Expr])
    case dict([(Expr, Expr)])
    case attr(Expr, String, Int)
    case item(Expr, Expr, Int)
    case slice(Expr, Expr?, Expr?, Expr?, Int)
    case call(Expr, [Expr], [(String, Expr)], Int)
    case filter(Expr, String, [Expr], [(String, Expr)], Int)
    case test(Expr, String, [Expr], Bool, Int)
    case unary(String, Expr, Int)
    case binary(String, Expr, Expr, Int)
    case and(Expr, Expr)
    case or(Expr, Expr)
    case not(Expr)
    case compare(Expr, [(String, Expr)], Int)
    case cond(Expr, Expr, Expr?)
}

/// Assignment targets of `set` and `for`: a name, a namespace attribute, or a tuple of names.
indirect enum Target {
    case name(String)
    case attr(String, String)
    case tuple([Target])
}

/// Statement nodes of a parsed template.
indirect enum Stmt {
    case text(String)
    case output(Expr, Int)
    case ifs([(Expr, [Stmt])], [Stmt])
    case forLoop(Target, Expr, Expr?, [Stmt], [Stmt], Int)
    case set(Target, Expr, Int)
    case setBlock(Target, [Stmt], Int)
    case macro(String, [(String, Expr?)], [Stmt], Int)
    case callBlock(Expr, [(String, Expr?)], [Stmt], Int)
    case with([(String, Expr)], [Stmt])
    case generation([Stmt])
    case breakLoop, continueLoop
}
